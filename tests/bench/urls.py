"""The service's URLs plus two baselines for the benchmarks.

- /bench/bare/<pk>: a bare DRF view doing one primary-key SELECT.
- /bench/open/subjects/<id>/consents/<purpose>: the real consent check, with
  authentication, scope checks and rate limiting switched off, to measure
  what those cost.
"""
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from consentvault.urls import urlpatterns as service_urlpatterns
from consents.models import Subject
from consents.subject_views import SubjectViewSet


class BareView(APIView):
    """A bare DRF view: no authentication, one primary-key SELECT, a small JSON body."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request, pk):
        row = Subject.objects.filter(pk=pk).values("subject_id", "created_at").first()
        return Response({"found": row is not None})


class OpenSubjectViewSet(SubjectViewSet):
    """The consent check without authentication, scopes or rate limits."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        pass


urlpatterns = [
    path("bench/bare/<int:pk>", BareView.as_view()),
    path(
        "bench/open/subjects/<str:subject_id>/consents/<str:purpose>",
        OpenSubjectViewSet.as_view({"get": "consent_detail"}),
    ),
    *service_urlpatterns,
]

handler404 = "consentvault.errors.handler404"
handler500 = "consentvault.errors.handler500"
