"""Bad input of every kind gets a 4xx problem document naming the field, and writes nothing."""
import datetime
import json

import pytest
from django.utils import timezone

from consents.models import ConsentEvent, CurrentConsent, Subject

pytestmark = pytest.mark.django_db

VALID = {"subject_id": "user-1", "purpose": "marketing-email", "action": "granted"}


def post_raw(client, body: bytes | str, content_type="application/json", path="/v1/consents"):
    return client.generic("POST", path, body, content_type=content_type)


def assert_problem(response, status: int, code: str | None, field: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    return body


def assert_nothing_written():
    assert not ConsentEvent.objects.exists()
    assert not CurrentConsent.objects.exists()
    assert not Subject.objects.exists()


def test_malformed_json(writer, marketing):
    assert_problem(post_raw(writer, b'{"subject_id": '), 400, "malformed_json")
    assert_nothing_written()


def test_nan_rejected(writer, marketing):
    assert_problem(post_raw(writer, b'{"subject_id": "a", "version": NaN}'), 400, "malformed_json")


def test_invalid_utf8(writer, marketing):
    body = assert_problem(post_raw(writer, b'{"subject_id": "\xff"}'), 400, "malformed_json")
    assert "UTF-8" in body["detail"]


def test_deeply_nested_json(writer, marketing):
    assert_problem(post_raw(writer, b"[" * 100_000 + b"]" * 100_000), 400, "malformed_json")


def test_wrong_content_type(writer, marketing):
    response = post_raw(writer, "subject_id=user-1", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported_media_type")
    assert_nothing_written()


def test_body_without_content_type(writer, marketing):
    response = writer.generic("POST", "/v1/consents", json.dumps(VALID), content_type="")
    assert_problem(response, 415, "unsupported_media_type")


def test_body_not_an_object(writer, marketing):
    assert_problem(post_raw(writer, b"[1, 2]"), 400, "invalid")


def test_unknown_field_reported_with_others(writer, marketing):
    body = assert_problem(
        writer.post("/v1/consents", {**VALID, "action": "maybe", "colour": "red"}, format="json"),
        400,
        "invalid",
    )
    fields = {error["field"]: error["code"] for error in body["errors"]}
    assert fields == {"action": "invalid_choice", "colour": "unknown_field"}
    assert_nothing_written()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject_id", 42),
        ("subject_id", None),
        ("subject_id", ["user-1"]),
        ("purpose", True),
        ("action", 1),
        ("version", "1"),
        ("version", 1.5),
        ("version", True),
        ("occurred_at", 1700000000),
        ("source", 7),
        ("evidence", "signup form"),
        ("evidence", [1, 2]),
    ],
)
def test_wrong_types(writer, marketing, field, value):
    assert_problem(writer.post("/v1/consents", {**VALID, field: value}, format="json"), 400, "invalid", field)
    assert_nothing_written()


@pytest.mark.parametrize("field", ["subject_id", "purpose", "action"])
def test_missing_required_field(writer, marketing, field):
    body = {key: value for key, value in VALID.items() if key != field}
    response = assert_problem(writer.post("/v1/consents", body, format="json"), 400, "invalid", field)
    assert response["errors"][0]["code"] == "required"


@pytest.mark.parametrize(
    "subject_id",
    ["", "x" * 256, "a/b", "line\nbreak", "tab\there", "nul\x00byte", "bell\x07"],
)
def test_invalid_subject_ids(writer, marketing, subject_id):
    assert_problem(
        writer.post("/v1/consents", {**VALID, "subject_id": subject_id}, format="json"), 400, "invalid", "subject_id"
    )
    assert_nothing_written()


def test_lone_surrogate_rejected(writer, marketing):
    response = post_raw(writer, b'{"subject_id": "\\ud800", "purpose": "marketing-email", "action": "granted"}')
    assert_problem(response, 400, "invalid", "subject_id")


def test_subject_id_of_255_accepted(writer, marketing):
    response = writer.post("/v1/consents", {**VALID, "subject_id": "é" * 255}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "occurred_at",
    ["2026-01-01T10:00:00", "yesterday", "2026-13-01T00:00:00Z", "", "9999-12-31T23:59:59-23:59"],
)
def test_bad_timestamps(writer, marketing, occurred_at):
    assert_problem(
        writer.post("/v1/consents", {**VALID, "occurred_at": occurred_at}, format="json"),
        400,
        "invalid",
        "occurred_at",
    )
    assert_nothing_written()


def test_naive_timestamp_message(writer, marketing):
    body = assert_problem(
        writer.post("/v1/consents", {**VALID, "occurred_at": "2026-01-01T10:00:00"}, format="json"),
        400,
        "invalid",
        "occurred_at",
    )
    assert "UTC offset" in body["errors"][0]["detail"]


def test_future_occurred_at_rejected(writer, marketing):
    future = (timezone.now() + datetime.timedelta(minutes=6)).isoformat()
    body = assert_problem(
        writer.post("/v1/consents", {**VALID, "occurred_at": future}, format="json"), 422, "in_future", "occurred_at"
    )
    assert "5 minutes" in body["detail"]
    assert_nothing_written()


def test_small_clock_skew_accepted(writer, marketing):
    soon = (timezone.now() + datetime.timedelta(minutes=4)).isoformat()
    assert writer.post("/v1/consents", {**VALID, "occurred_at": soon}, format="json").status_code == 201


def test_offset_converted_to_utc(writer, marketing):
    response = writer.post("/v1/consents", {**VALID, "occurred_at": "2026-01-01T10:00:00+02:00"}, format="json")
    assert response.json()["event"]["occurred_at"] == "2026-01-01T08:00:00Z"


def test_unknown_purpose_in_body(writer, marketing):
    body = assert_problem(
        writer.post("/v1/consents", {**VALID, "purpose": "no-such-thing"}, format="json"),
        404,
        "unknown_purpose",
        "purpose",
    )
    assert "no-such-thing" in body["detail"]
    assert_nothing_written()


@pytest.mark.parametrize(
    ("version", "status", "code"),
    [
        (0, 400, "min_value"),
        (-1, 400, "min_value"),
        (2**31, 400, "max_value"),
        (10**30, 400, "max_value"),
        (2, 422, "unknown_version"),
    ],
)
def test_bad_versions(writer, marketing, version, status, code):
    body = assert_problem(writer.post("/v1/consents", {**VALID, "version": version}, format="json"), status, None)
    assert body["errors"][0]["field"] == "version"
    assert body["errors"][0]["code"] == code
    assert_nothing_written()


@pytest.mark.parametrize("source", ["Web", "-web", "web site", "x" * 33, ""])
def test_bad_sources(writer, marketing, source):
    assert_problem(writer.post("/v1/consents", {**VALID, "source": source}, format="json"), 400, "invalid", "source")


@pytest.mark.parametrize(
    "evidence",
    [
        {"blob": "x" * (17 * 1024)},
        {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
    ],
)
def test_bad_evidence(writer, marketing, evidence):
    assert_problem(writer.post("/v1/consents", {**VALID, "evidence": evidence}, format="json"), 400, "invalid", "evidence")
    assert_nothing_written()


def test_evidence_kept_exactly(writer, privacy, marketing):
    raw = (
        b'{"subject_id": "u", "purpose": "marketing-email", "action": "granted",'
        b' "evidence": {"\\udfff": "nul\\u0000inside", "nested": [1, 2.5, null, true]}}'
    )
    response = post_raw(writer, raw)

    assert response.status_code == 201
    assert response.json()["event"]["has_evidence"] is True
    history = privacy.get("/v1/subjects/u/events").json()["results"]
    assert history[0]["evidence"] == {"\udfff": "nul\x00inside", "nested": [1, 2.5, None, True]}


def test_evidence_eight_levels_accepted(writer, marketing):
    evidence = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}
    assert writer.post("/v1/consents", {**VALID, "evidence": evidence}, format="json").status_code == 201


def test_evidence_null_accepted(writer, marketing):
    assert writer.post("/v1/consents", {**VALID, "evidence": None}, format="json").status_code == 201


def test_oversized_body(writer, marketing):
    padding = "x" * (1024 * 1024)
    body = assert_problem(post_raw(writer, json.dumps({**VALID, "pad": padding})), 413, "payload_too_large")
    assert "1048576" in body["detail"]
    assert_nothing_written()


def test_oversized_body_without_length(writer, marketing):
    from consentvault.parsers import LimitedJSONParser

    class Stream:
        def __init__(self, data):
            self.data = data

        def read(self, size=-1):
            return self.data[:size] if size >= 0 else self.data

    class Request:
        META = {}

    from consentvault.errors import PayloadTooLarge

    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(Stream(b"1" * (1024 * 1024 + 5)), parser_context={"request": Request()})


def test_invalid_subject_id_in_path(reader, marketing):
    long_id = "x" * 256
    assert_problem(reader.get(f"/v1/subjects/{long_id}/consents/marketing-email"), 400, "invalid", "subject_id")
    assert_problem(reader.get("/v1/subjects/%09tab/consents"), 400, "invalid", "subject_id")


def test_unknown_url_is_json(reader):
    assert_problem(reader.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(reader.get("/nothing-at-all"), 404, "not_found")


def test_method_not_allowed(reader, marketing):
    assert_problem(reader.delete("/v1/purposes/marketing-email"), 405, "method_not_allowed")


def test_not_acceptable(reader, marketing):
    assert_problem(reader.get("/v1/purposes", HTTP_ACCEPT="text/html"), 406, "not_acceptable")
