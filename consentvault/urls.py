from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from apikeys.views import ApiKeyAdminViewSet
from consentvault.admin_login import rate_limited_login
from consentvault.errors import not_found
from consents.subject_views import SubjectViewSet
from consents.views import AdminPurposeViewSet, ConsentViewSet, PurposeViewSet

router = SimpleRouter(trailing_slash=False)
router.register("purposes", PurposeViewSet, basename="purpose")
router.register("consents", ConsentViewSet, basename="consent")
router.register("subjects", SubjectViewSet, basename="subject")
router.register("admin/purposes", AdminPurposeViewSet, basename="admin-purpose")
router.register("admin/api-keys", ApiKeyAdminViewSet, basename="admin-api-key")

urlpatterns = [
    path("v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("v1/", include(router.urls)),
    path("admin/login/", rate_limited_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("", include("ops.urls")),
    # Last: any other path gets the JSON 404, in debug mode too (where Django
    # would otherwise render its HTML page).
    re_path(r"^(?!admin/|static/).*$", not_found),
]

handler400 = "consentvault.errors.handler400"
handler403 = "consentvault.errors.handler403"
handler404 = "consentvault.errors.handler404"
handler500 = "consentvault.errors.handler500"
