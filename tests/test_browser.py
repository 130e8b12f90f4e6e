"""The staff console in a real browser: Playwright driving Debian's Chromium against a live server.

Screenshots of each page go to test-artifacts/. `.ci/run` installs Chromium
(`apt-get install chromium`) when it is missing; Playwright never downloads
a browser of its own here.
"""
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from apikeys.models import ApiKey
from apikeys.services import create_api_key
from consents import services, subject_services
from consents.models import StaffAction

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "a-long-test-password"
EMAIL = "grace.hopper@example.org"


@pytest.fixture
def page(live_server, settings, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test itself
    # only makes ordinary blocking ORM calls between page actions.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server speaks plain HTTP; secure-only cookies would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install chromium` (.ci/run does).")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        yield page
        browser.close()


@pytest.fixture
def data(db, staff_groups):
    services.create_purpose(
        slug="marketing-email", title="Marketing emails", description="", legal_basis="consent",
        validity_days=365, text="We would like to email you.",
    )
    subject_services.set_identifiers(subject_id="grace-1", email=EMAIL, phone="+14155550123", create=True)
    services.record_consent_once(
        api_key=None, idempotency_key=None, payload={}, render=lambda recorded: {},
        subject_id="grace-1", purpose_slug="marketing-email", action="granted",
    )
    return create_api_key(name="crm-integration", scopes=["read"], actor="test").api_key


def staff_user(name: str, group: str):
    user = get_user_model().objects.create_user(name, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def log_in(page, live_server, name: str):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(name)


def shot(page, name: str):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_privacy_officer_finds_and_reveals(page, live_server, data):
    staff_user("dpo", "Privacy officer")
    log_in(page, live_server, "dpo")

    page.goto(f"{live_server.url}/admin/consents/subject/")
    page.fill("#searchbar", "  GRACE.HOPPER@example.org ")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list")).to_contain_text("grace-1")
    expect(page.locator("#result_list")).to_contain_text("g***@example.org")
    expect(page.locator("#result_list")).not_to_contain_text(EMAIL)
    shot(page, "subject-search-masked")

    page.click("#result_list a:has-text('grace-1')")
    expect(page.locator("body")).to_contain_text("marketing-email")
    page.click("#reveal-link")
    page.click("#reveal-submit")
    expect(page.locator("#revealed-email")).to_have_text(EMAIL)
    shot(page, "subject-revealed")

    assert StaffAction.objects.filter(actor="dpo", action="reveal").count() == 1
    page.goto(f"{live_server.url}/admin/consents/staffaction/")
    expect(page.locator("#result_list")).to_contain_text("dpo")
    shot(page, "staff-audit-log")


def test_support_sees_masked_only(page, live_server, data):
    staff_user("helpdesk", "Support (read-only)")
    log_in(page, live_server, "helpdesk")

    page.goto(f"{live_server.url}/admin/consents/subject/?q=grace-1")
    expect(page.locator("#result_list")).to_contain_text("g***@example.org")
    page.click("#result_list a:has-text('grace-1')")
    expect(page.locator("body")).not_to_contain_text(EMAIL)
    shot(page, "support-subject-page")

    response = page.goto(f"{live_server.url}/admin/consents/subject/1/reveal/")
    assert response.status == 403
    assert not StaffAction.objects.exists()


def test_privacy_officer_revokes_key(page, live_server, data):
    staff_user("dpo", "Privacy officer")
    log_in(page, live_server, "dpo")

    page.goto(f"{live_server.url}/admin/apikeys/apikey/{data.pk}/change/")
    page.uncheck("#id_active")
    page.fill("#id_revoked_reason", "integration retired")
    shot(page, "api-key-revoke-form")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_be_visible()
    shot(page, "api-key-revoked")

    key = ApiKey.objects.get(pk=data.pk)
    assert key.active is False
    assert key.revoked_reason == "integration retired"
    assert key.events.filter(action="revoked", actor="staff:dpo").exists()


def test_overview_page(page, live_server, data):
    staff_user("dpo", "Privacy officer")
    log_in(page, live_server, "dpo")

    page.goto(f"{live_server.url}/admin/consents/purpose/overview/")
    expect(page.locator("#status-table")).to_contain_text("marketing-email")
    expect(page.locator("#daily-chart rect").first).to_be_attached()
    shot(page, "overview")
