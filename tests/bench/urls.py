"""The service's URLs plus /bench/bare/<pk>, the baseline the benchmarks compare against."""
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from consentvault.urls import urlpatterns as service_urlpatterns
from consents.models import Subject


class BareView(APIView):
    """A bare DRF view: no authentication, one primary-key SELECT, a small JSON body."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request, pk):
        row = Subject.objects.filter(pk=pk).values("subject_id", "created_at").first()
        return Response({"found": row is not None})


urlpatterns = [path("bench/bare/<int:pk>", BareView.as_view()), *service_urlpatterns]

handler404 = "consentvault.errors.handler404"
handler500 = "consentvault.errors.handler500"
