"""Request ids and the access log: one JSON line per request."""
import logging
import re
import time
import uuid

from ops.jsonlog import request_id_var

access_logger = logging.getLogger("consentvault.access")

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTED_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestLogMiddleware:
    """Give each request an id and log it once the response is ready.

    A caller's ``X-Request-ID`` of 1 to 128 letters, digits and ``._:-`` is
    kept; otherwise one is generated. The id is returned in the response
    header. The access line carries the URL pattern, never the raw path, so
    identifiers in URLs stay out of the logs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _ACCEPTED_REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": match.route if match else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "api_key_id": getattr(request, "consentvault_api_key_id", None),
                },
            )
            return response
        finally:
            request_id_var.reset(token)
