"""Rate limits per API key and per client IP, shared through Redis; fail open when Redis fails."""
import pytest
from django.core.cache import cache

from apikeys import ratelimit
from apikeys.services import create_api_key, update_api_key
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited_key(db):
    return create_api_key(name="limited", scopes=["read", "write"], actor="test", rate_limit_read="5/m")


def statuses(client, count: int, path="/v1/purposes", **extra) -> list[int]:
    return [client.get(path, **extra).status_code for _ in range(count)]


def test_twelve_requests_seven_rejected(limited_key, marketing):
    client = client_for(limited_key.secret)
    responses = [client.get("/v1/purposes") for _ in range(12)]

    assert [response.status_code for response in responses] == [200] * 5 + [429] * 7
    first, last_allowed, rejected = responses[0], responses[4], responses[5]
    assert first["RateLimit-Limit"] == "5"
    assert first["RateLimit-Remaining"] == "4"
    assert last_allowed["RateLimit-Remaining"] == "0"
    assert 0 < int(rejected["RateLimit-Reset"]) <= 60
    assert int(rejected["Retry-After"]) >= 1
    assert rejected["Content-Type"] == "application/problem+json"
    assert rejected.json()["code"] == "rate_limited"
    assert rejected.json()["detail"] == f"Too many requests; retry in {rejected['Retry-After']} seconds."
    assert rejected["RateLimit-Remaining"] == "0"



def test_counter_expires_after_its_window(limited_key, marketing):
    client = client_for(limited_key.secret)
    statuses(client, 3)

    counters = [key for key in cache.keys("*") if key.startswith("rl:")]
    assert len(counters) == 1
    assert cache.get(counters[0]) == 3
    # A minute's window plus django-ratelimit's margin, set once on the window's first request.
    assert 0 < cache.ttl(counters[0]) <= 60 + ratelimit.EXPIRATION_FUDGE

def test_reads_and_writes_counted_apart(limited_key, marketing):
    client = client_for(limited_key.secret)
    assert statuses(client, 6)[-1] == 429

    write = client.post(
        "/v1/consents", {"subject_id": "s", "purpose": "marketing-email", "action": "granted"}, format="json"
    )

    assert write.status_code == 201
    assert write["RateLimit-Limit"] == "600"


def test_keys_limited_separately(limited_key, reader, marketing):
    assert statuses(client_for(limited_key.secret), 6)[-1] == 429
    assert statuses(reader, 3) == [200, 200, 200]


def test_per_key_override_changes_limit(admin, limited_key, marketing):
    update_api_key(api_key=limited_key.api_key, changes={"rate_limit_read": "2/m"}, actor="test")

    assert statuses(client_for(limited_key.secret), 3) == [200, 200, 429]


def test_anonymous_limit_per_ip(settings, marketing):
    settings.CONSENTVAULT_RATE_ANON = "3/m"
    guesser = client_for("cv_00000000_guess")

    results = statuses(guesser, 5, REMOTE_ADDR="198.51.100.7")

    assert results == [401, 401, 401, 429, 429]
    assert statuses(client_for(None), 1, REMOTE_ADDR="198.51.100.8") == [401]


def test_forwarded_for_ignored_without_proxies(settings, marketing):
    settings.CONSENTVAULT_RATE_ANON = "3/m"
    settings.TRUSTED_PROXY_COUNT = 0
    client = client_for(None)

    results = [
        client.get("/v1/purposes", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]

    assert results == [401, 401, 401, 429, 429]


def test_trusted_proxy_separates_clients(settings, marketing):
    settings.CONSENTVAULT_RATE_ANON = "2/m"
    settings.TRUSTED_PROXY_COUNT = 1
    client = client_for(None)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    first = [client.get("/v1/purposes", HTTP_X_FORWARDED_FOR="203.0.113.1", **proxy).status_code for _ in range(3)]
    second = [client.get("/v1/purposes", HTTP_X_FORWARDED_FOR="203.0.113.2", **proxy).status_code for _ in range(3)]
    spoofed = client.get("/v1/purposes", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.1", **proxy).status_code

    assert first == [401, 401, 429]
    assert second == [401, 401, 429]
    assert spoofed == 429  # the proxy appended the real address last; the caller's own entry is ignored


@pytest.mark.parametrize(
    ("count", "header", "remote", "expected"),
    [
        (0, "203.0.113.9", "192.0.2.1", "192.0.2.1"),
        (1, "203.0.113.9", "192.0.2.1", "203.0.113.9"),
        (1, "1.1.1.1, 203.0.113.9", "192.0.2.1", "203.0.113.9"),
        (2, "1.1.1.1, 203.0.113.9, 10.0.0.1", "192.0.2.1", "203.0.113.9"),
        (2, "203.0.113.9", "192.0.2.1", "192.0.2.1"),
        (1, "not-an-ip", "192.0.2.1", "192.0.2.1"),
    ],
)
def test_client_ip(settings, rf, count, header, remote, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", HTTP_X_FORWARDED_FOR=header, REMOTE_ADDR=remote)

    assert ratelimit.client_ip(request) == expected


def test_health_endpoints_not_limited(settings, marketing):
    settings.CONSENTVAULT_RATE_ANON = "1/m"
    client = client_for(None)

    assert [client.get("/livez").status_code for _ in range(3)] == [200, 200, 200]
    assert client.get("/v1/schema").status_code == 200


def test_redis_down_fails_open(settings, limited_key, marketing):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.1, "SOCKET_TIMEOUT": 0.1},
        }
    }
    before = ratelimit.rate_limit_bypasses._value.get()  # noqa: SLF001
    client = client_for(limited_key.secret)

    results = statuses(client, 8)

    assert results == [200] * 8
    assert ratelimit.rate_limit_bypasses._value.get() - before == 8  # noqa: SLF001
    assert "RateLimit-Limit" not in client.get("/v1/purposes")
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["redis"] == "error"


def test_bypass_logged_once_per_interval(caplog):
    bypass_log = ratelimit._BypassLog()  # noqa: SLF001

    with caplog.at_level("WARNING", logger="apikeys.ratelimit"):
        for _ in range(5):
            bypass_log.report(ConnectionError("refused"))

    lines = [record for record in caplog.records if record.name == "apikeys.ratelimit"]
    assert len(lines) == 1
    assert lines[0].error == "ConnectionError: refused"
