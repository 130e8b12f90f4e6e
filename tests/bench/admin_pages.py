"""Time the staff console's pages on the benchmark data set: `make bench` (after tests.bench.run).

Uses the database tests.bench.run builds (1,000,000 events, 100,000 subjects),
renders each admin page in-process with Django's test client as a superuser,
and reports the median of five loads and the number of queries of each page.
"""
import os
import statistics
import sys
import time

import django


def main() -> int:
    from tests.bench.dataset import bench_keys

    os.environ.update(bench_keys())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consentvault.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/consentvault_bench")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ.setdefault("DEBUG", "true")  # the test client's host and plain-HTTP cookies
    os.environ["CONSENTVAULT_ENV_FILE"] = ""
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the test client's host name
    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from consents.models import ConsentEvent, Purpose, Subject

    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    event = ConsentEvent.objects.order_by("-id").first()
    subject = Subject.objects.get(subject_id="subject-50000")
    purpose = Purpose.objects.order_by("slug").first()
    pages = {
        "consent events list": "/admin/consents/consentevent/",
        "consent events, filtered by purpose": f"/admin/consents/consentevent/?purpose__id__exact={purpose.pk}",
        "consent event page": f"/admin/consents/consentevent/{event.pk}/change/",
        "current consents list": "/admin/consents/currentconsent/",
        "subjects list": "/admin/consents/subject/",
        "subject search by id": "/admin/consents/subject/?q=subject-50000",
        "subject page": f"/admin/consents/subject/{subject.pk}/change/",
        "purpose page": f"/admin/consents/purpose/{purpose.pk}/change/",
        "API keys list": "/admin/apikeys/apikey/",
        "staff audit log": "/admin/consents/staffaction/",
        "overview": "/admin/consents/purpose/overview/",
    }
    print(f"{'page':<40} {'median ms':>10} {'queries':>8}")
    for label, url in pages.items():
        timings = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label:<40} {statistics.median(timings):>10.0f} {len(queries):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
