"""The Django admin's login view, behind a rate limit per client IP and per user name."""
from django.contrib import admin
from django.http import HttpResponse

from apikeys import ratelimit


def rate_limited_login(request, **kwargs):
    """Serve the admin login, or return 429 once an IP or a user name has tried too often."""
    if request.method == "POST":
        exceeded = [usage for usage in ratelimit.check_admin_login(request) if usage.exceeded]
        if exceeded:
            wait = max(max(usage.reset_seconds for usage in exceeded), 1)
            response = HttpResponse(
                f"Too many login attempts; try again in {wait} seconds.", status=429, content_type="text/plain"
            )
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, **kwargs)
