"""The OpenAPI schema and the interactive docs, served without a key."""
import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_schema_served_without_key(anonymous):
    response = anonymous.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    paths = schema["paths"]
    for path in (
        "/v1/purposes",
        "/v1/purposes/{slug}",
        "/v1/consents",
        "/v1/consents/check",
        "/v1/subjects/{subject_id}/consents",
        "/v1/subjects/{subject_id}/consents/{purpose}",
        "/v1/subjects/{subject_id}/events",
        "/v1/admin/purposes",
        "/v1/admin/purposes/{slug}",
        "/v1/admin/purposes/{slug}/versions",
        "/v1/admin/api-keys",
        "/v1/admin/api-keys/{id}",
    ):
        assert path in paths, path


def test_schema_documents_errors_and_bodies(anonymous):
    schema = yaml.safe_load(anonymous.get("/v1/schema").content)
    record = schema["paths"]["/v1/consents"]["post"]

    assert record["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("RecordConsentRequest")
    assert "201" in record["responses"]
    for status in ("400", "401", "403", "413", "415", "422", "429", "500"):
        assert record["responses"][status]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert any(parameter["name"] == "Idempotency-Key" for parameter in record["parameters"])


def test_docs_page_uses_no_cdn(anonymous):
    response = anonymous.get("/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_docs_assets_served(anonymous):
    html = anonymous.get("/v1/docs").content.decode()
    start = html.index("/static/drf_spectacular_sidecar/")
    asset = html[start : html.index('"', start)]

    response = anonymous.get(asset)

    assert response.status_code == 200
