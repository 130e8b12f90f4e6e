"""POST /v1/consents/check: one purpose, up to 10,000 subjects."""
import pytest

from consents import services
from tests.conftest import post_consent

pytestmark = pytest.mark.django_db


def test_statuses_in_request_order(writer, marketing):
    post_consent(writer, subject_id="a", purpose="marketing-email", action="granted")
    post_consent(writer, subject_id="b", purpose="marketing-email", action="granted")
    post_consent(writer, subject_id="b", purpose="marketing-email", action="withdrawn")

    response = writer.post(
        "/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ["c", "b", "a", "a"]}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["purpose"] == "marketing-email"
    assert [(item["subject_id"], item["status"], item["granted"]) for item in body["results"]] == [
        ("c", "not_set", False),
        ("b", "withdrawn", False),
        ("a", "granted", True),
    ]


def test_reconsent_in_bulk(writer, marketing):
    post_consent(writer, subject_id="a", purpose="marketing-email", action="granted")
    services.publish_purpose_version(slug="marketing-email", text="v2", material_change=True)

    response = writer.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ["a"]}, format="json")

    assert response.json()["results"][0]["status"] == "reconsent_required"


def test_ten_thousand_ids_in_two_queries(reader, writer, marketing, django_assert_num_queries):
    for index in range(5):
        post_consent(writer, subject_id=f"s{index}", purpose="marketing-email", action="granted")
    ids = [f"s{index}" for index in range(10_000)]
    reader.get("/v1/purposes")  # the first use of a key reads its row into the worker's cache

    # The purpose and the current rows; the key row comes from the cache.
    with django_assert_num_queries(2):
        response = reader.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ids}, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 10_000
    assert sum(item["granted"] for item in results) == 5


def test_more_than_ten_thousand_rejected(reader, marketing):
    ids = [f"s{index}" for index in range(10_001)]
    response = reader.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ids}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "subject_ids"
    assert response.json()["errors"][0]["code"] == "max_length"


def test_empty_list_rejected(reader, marketing):
    response = reader.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": []}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "subject_ids"


def test_bad_ids_named_by_index(reader, marketing):
    response = reader.post(
        "/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ["ok", 5, "a/b", ""]}, format="json"
    )

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [
        "subject_ids.1",
        "subject_ids.2",
        "subject_ids.3",
    ]


def test_not_a_list(reader, marketing):
    response = reader.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": "a"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "subject_ids"


def test_unknown_purpose(reader, marketing):
    response = reader.post("/v1/consents/check", {"purpose": "nope", "subject_ids": ["a"]}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_purpose"
    assert response.json()["errors"][0]["field"] == "purpose"


def test_large_body_allowed_for_check(reader, marketing):
    ids = [("x" * 200) + str(index) for index in range(10_000)]  # about 2 MiB of JSON
    response = reader.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ids}, format="json")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 10_000


def test_check_needs_read_scope(writer_key, marketing):
    from apikeys.services import create_api_key
    from tests.conftest import client_for

    write_only = client_for(create_api_key(name="w", scopes=["write"], actor="test").secret)
    response = write_only.post("/v1/consents/check", {"purpose": "marketing-email", "subject_ids": ["a"]}, format="json")

    assert response.status_code == 403
