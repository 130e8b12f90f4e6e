"""GET /v1/subjects/{subject_id}/events: the ledger, newest first, cursor-paginated."""
import datetime
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from tests.conftest import post_consent

pytestmark = pytest.mark.django_db


def record(client, minutes_ago: int, action="granted", subject_id="user-1"):
    moment = (timezone.now() - datetime.timedelta(minutes=minutes_ago)).isoformat()
    response = post_consent(client, subject_id=subject_id, purpose="marketing-email", action=action, occurred_at=moment)
    assert response.status_code == 201
    return response.json()["event"]["event_id"]


def follow(client, url):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def test_newest_first_across_pages(writer, marketing):
    ids = [record(writer, minutes_ago) for minutes_ago in (50, 10, 30, 20, 40)]
    expected = [ids[1], ids[3], ids[2], ids[4], ids[0]]

    first = writer.get("/v1/subjects/user-1/events?limit=2")
    assert first.status_code == 200
    seen = [event["event_id"] for event in first.json()["results"]]
    next_url = first.json()["next"]
    while next_url:
        page = follow(writer, next_url)
        seen += [event["event_id"] for event in page.json()["results"]]
        next_url = page.json()["next"]

    assert seen == expected


def test_pages_stable_while_rows_added(writer, marketing):
    ids = [record(writer, minutes_ago) for minutes_ago in (40, 30, 20, 10)]
    first = writer.get("/v1/subjects/user-1/events?limit=2")
    record(writer, 1)  # newer than everything shown
    record(writer, 5)

    second = follow(writer, first.json()["next"])

    assert [event["event_id"] for event in second.json()["results"]] == [ids[1], ids[0]]
    assert second.json()["next"] is None


def test_same_occurred_at_not_skipped(writer, marketing):
    moment = timezone.now().isoformat()
    ids = [
        post_consent(writer, subject_id="user-1", purpose="marketing-email", action="granted", occurred_at=moment)
        .json()["event"]["event_id"]
        for _ in range(3)
    ]
    seen = []
    page = writer.get("/v1/subjects/user-1/events?limit=1")
    while True:
        seen += [event["event_id"] for event in page.json()["results"]]
        if not page.json()["next"]:
            break
        page = follow(writer, page.json()["next"])

    assert seen == list(reversed(ids))


def test_other_subjects_excluded(writer, marketing):
    record(writer, 1, subject_id="someone-else")
    response = writer.get("/v1/subjects/user-1/events")

    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None}


def test_history_query_count(writer, marketing, django_assert_num_queries):
    for minutes_ago in range(1, 30):
        record(writer, minutes_ago)
    with django_assert_num_queries(1):  # the events; the API key row comes from the worker's cache
        response = writer.get("/v1/subjects/user-1/events?limit=20")
    assert len(response.json()["results"]) == 20


@pytest.mark.parametrize("query", ["cursor=not-a-cursor", "cursor=%%%", "limit=0", "limit=501", "limit=x", "page=2"])
def test_bad_query(writer, marketing, query):
    response = writer.get(f"/v1/subjects/user-1/events?{query}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in ("cursor", "limit", "page")
