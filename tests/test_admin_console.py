"""The Django admin's views of the ledger: viewable, never changeable, superusers included."""
import re

import pytest
from django.contrib.auth import get_user_model

from consents.models import ConsentEvent, CurrentConsent, PurposeVersion
from tests.conftest import post_consent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _groups(staff_groups):
    pass


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-test-password")
    client.force_login(user)
    return client


@pytest.fixture
def event(writer, marketing):
    post_consent(writer, subject_id="s1", purpose="marketing-email", action="granted")
    return ConsentEvent.objects.get()


def test_ledger_lists_render(staff, event, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        events = staff.get("/admin/consents/consentevent/")
    current = staff.get("/admin/consents/currentconsent/")

    assert events.status_code == 200
    assert str(event.event_id) in events.content.decode()
    assert current.status_code == 200


def test_ledger_cannot_be_changed(staff, event):
    add = staff.get("/admin/consents/consentevent/add/")
    change = staff.post(f"/admin/consents/consentevent/{event.pk}/change/", {"action": "withdrawn"})
    delete = staff.post(f"/admin/consents/consentevent/{event.pk}/delete/", {"post": "yes"})
    bulk = staff.post(
        "/admin/consents/consentevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    current_delete = staff.post(
        f"/admin/consents/currentconsent/{CurrentConsent.objects.get().pk}/delete/", {"post": "yes"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert bulk.status_code in (200, 302)
    assert current_delete.status_code == 403
    assert ConsentEvent.objects.get().action == "granted"
    assert CurrentConsent.objects.count() == 1


def test_change_page_is_read_only(staff, event):
    page = staff.get(f"/admin/consents/consentevent/{event.pk}/change/")

    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()
    assert "delete_selected" not in staff.get("/admin/consents/consentevent/").content.decode()


def test_purpose_versions_read_only(staff, marketing):
    page = staff.get(f"/admin/consents/purpose/{marketing.pk}/change/")
    staff.post(
        f"/admin/consents/purpose/{marketing.pk}/change/",
        {"title": "Renamed", "description": "", "legal_basis": "consent", "validity_days": "365",
         "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "1", "versions-0-id": PurposeVersion.objects.get().pk,
         "versions-0-text": "rewritten"},
    )

    assert page.status_code == 200
    assert PurposeVersion.objects.get().text == "We would like to email you offers."


def test_staff_groups_exist():
    from django.contrib.auth.models import Group

    officer = set(Group.objects.get(name="Privacy officer").permissions.values_list("codename", flat=True))
    support = set(Group.objects.get(name="Support (read-only)").permissions.values_list("codename", flat=True))

    assert {"view_personal_data", "export_subject", "erase_subject", "change_apikey", "view_consentevent"} <= officer
    assert "view_consentevent" in support
    assert not support & {"view_personal_data", "export_subject", "erase_subject", "change_apikey", "view_apikey"}
    assert not any(codename.startswith(("add_", "change_", "delete_")) for codename in support)


def test_support_user_cannot_change_keys(client, writer_key):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("helpdesk", password="a-long-test-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Support (read-only)"))
    client.force_login(user)

    assert client.get("/admin/consents/consentevent/").status_code == 200
    assert client.get("/admin/apikeys/apikey/").status_code == 403
    assert client.get(f"/admin/apikeys/apikey/{writer_key.api_key.pk}/change/").status_code == 403


def test_admin_login_rate_limited(client, settings):
    settings.CONSENTVAULT_RATE_ADMIN_LOGIN = "3/m"
    form = {"username": "root", "password": "wrong"}

    per_ip = [client.post("/admin/login/", form, REMOTE_ADDR="198.51.100.1").status_code for _ in range(4)]
    same_user_other_ip = client.post("/admin/login/", form, REMOTE_ADDR="198.51.100.2")
    other_user = client.post("/admin/login/", {**form, "username": "alice"}, REMOTE_ADDR="198.51.100.3")

    assert per_ip == [200, 200, 200, 429]
    assert same_user_other_ip.status_code == 429
    assert int(same_user_other_ip["Retry-After"]) >= 1
    assert other_user.status_code == 200
    assert client.get("/admin/login/").status_code == 200


def test_publish_version_from_admin(staff, writer, marketing):
    post_consent(writer, subject_id="s1", purpose="marketing-email", action="granted")

    form = staff.get(f"/admin/consents/purpose/{marketing.pk}/publish/")
    response = staff.post(
        f"/admin/consents/purpose/{marketing.pk}/publish/", {"text": "New uses of your email.", "material_change": "on"}
    )

    assert form.status_code == 200
    assert response.status_code == 302
    version = PurposeVersion.objects.get(purpose=marketing, number=2)
    assert version.material_change is True
    assert writer.get("/v1/subjects/s1/consents/marketing-email").json()["status"] == "reconsent_required"
    from consents.models import StaffAction

    assert StaffAction.objects.get().details == "marketing-email v2 (material change)"


def test_support_cannot_publish(client, marketing):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("helpdesk", password="a-long-test-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Support (read-only)"))
    client.force_login(user)

    assert client.post(f"/admin/consents/purpose/{marketing.pk}/publish/", {"text": "x"}).status_code == 403
    assert PurposeVersion.objects.filter(purpose=marketing).count() == 1


def test_overview_counts_and_chart(staff, writer, marketing, analytics, django_assert_max_num_queries):
    import datetime

    from django.utils import timezone

    post_consent(writer, subject_id="a", purpose="marketing-email", action="granted")
    post_consent(writer, subject_id="b", purpose="marketing-email", action="withdrawn")
    old = (timezone.now() - datetime.timedelta(days=400)).isoformat()
    post_consent(writer, subject_id="c", purpose="marketing-email", action="granted", occurred_at=old)
    post_consent(writer, subject_id="d", purpose="analytics", action="granted")

    with django_assert_max_num_queries(10):
        response = staff.get("/admin/consents/purpose/overview/")

    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.context["statuses"]}
    assert rows["marketing-email"] == {
        "slug": "marketing-email", "granted": 1, "withdrawn": 1, "expired": 1, "reconsent_required": 0
    }
    assert rows["analytics"]["granted"] == 1
    chart = response.context["chart"]
    assert len(chart["bars"]) == 90
    assert chart["bars"][-1]["granted"] == 2
    assert chart["bars"][-1]["withdrawn"] == 1
    html = response.content.decode()
    assert '<svg id="daily-chart"' in html
    assert "cdn" not in html.lower()


def test_create_purpose_from_admin(staff):
    from consents.models import Purpose, StaffAction

    response = staff.post(
        "/admin/consents/purpose/add/",
        {"slug": "sms", "title": "SMS offers", "description": "", "legal_basis": "consent", "validity_days": "30",
         "text": "We would like to text you."},
    )

    assert response.status_code == 302, response.content.decode()[:1500]
    purpose = Purpose.objects.get(slug="sms")
    assert purpose.current_version == 1
    assert PurposeVersion.objects.get(purpose=purpose).text == "We would like to text you."
    assert StaffAction.objects.get().details == "sms v1 (created)"


def test_event_filters(staff, event, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        by_source = staff.get("/admin/consents/consentevent/?source=api")
    listing = staff.get("/admin/consents/consentevent/").content.decode()
    today_link = re.search(r'href="(\?occurred_at__gte=[^"]+)"', listing).group(1).replace("&amp;", "&")
    by_date = staff.get(f"/admin/consents/consentevent/{today_link}")
    other_source = staff.get("/admin/consents/consentevent/?source=web")

    assert str(event.event_id) in by_source.content.decode()
    assert str(event.event_id) in by_date.content.decode()
    assert str(event.event_id) not in other_source.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/consents/consentevent/",
        "/admin/consents/currentconsent/",
        "/admin/consents/subject/",
        "/admin/consents/purpose/",
        "/admin/consents/staffaction/",
        "/admin/apikeys/apikey/",
        "/admin/apikeys/apikeyevent/",
        "/admin/consents/purpose/overview/",
    ],
)
def test_lists_run_bounded_queries(staff, writer, marketing, url, django_assert_max_num_queries):
    for number in range(30):  # more rows must not mean more queries
        post_consent(writer, subject_id=f"s{number}", purpose="marketing-email", action="granted")

    with django_assert_max_num_queries(12):
        response = staff.get(url)

    assert response.status_code == 200


def test_change_pages_run_bounded_queries(staff, writer, writer_key, marketing, django_assert_max_num_queries):
    from consents.models import Subject

    for _ in range(20):
        post_consent(writer, subject_id="busy", purpose="marketing-email", action="granted")
    subject = Subject.objects.get(subject_id="busy")
    pages = [
        f"/admin/consents/subject/{subject.pk}/change/",
        f"/admin/consents/purpose/{marketing.pk}/change/",
        f"/admin/consents/consentevent/{ConsentEvent.objects.first().pk}/change/",
        f"/admin/apikeys/apikey/{writer_key.api_key.pk}/change/",
    ]

    for url in pages:
        with django_assert_max_num_queries(20):
            response = staff.get(url)
        assert response.status_code == 200, url
