"""The base class of every API viewset."""
from rest_framework import exceptions, viewsets


class ApiViewSet(viewsets.ViewSet):
    """A DRF ViewSet that rejects a request body sent without a Content-Type.

    DRF would silently ignore such a body and report missing fields instead,
    which hides the real mistake.
    """

    def initial(self, request, *args, **kwargs):
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.META.get("CONTENT_LENGTH") or "0"
            if not request.content_type and (not length.isdigit() or int(length) > 0):
                raise exceptions.UnsupportedMediaType(
                    "", detail="The request has a body but no Content-Type; send it as application/json."
                )
        super().initial(request, *args, **kwargs)
