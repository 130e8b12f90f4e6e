"""Subjects in the staff console: masked identifiers, blind-index search, audited reveals."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from consents.admin_subjects import mask_email, mask_phone
from consents.models import StaffAction, Subject

pytestmark = pytest.mark.django_db

EMAIL = "Ada.Lovelace@Example.com"


@pytest.fixture(autouse=True)
def _groups(staff_groups):
    pass


@pytest.fixture
def subject(privacy):
    privacy.post("/v1/subjects", {"subject_id": "ada-1", "email": EMAIL, "phone": "+44 20 7946 0958"}, format="json")
    return Subject.objects.get(subject_id="ada-1")


def staff_in(client, group: str, name: str):
    user = get_user_model().objects.create_user(name, password="a-long-test-password", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


def test_masks():
    assert mask_email("ada@example.com") == "a***@example.com"
    assert mask_phone("+442079460958") == "+44*******958"
    assert mask_email(None) == "—"


def test_support_sees_masked_only(client, subject):
    support = staff_in(client, "Support (read-only)", "helpdesk")

    listing = support.get("/admin/consents/subject/").content.decode()
    page = support.get(f"/admin/consents/subject/{subject.pk}/change/").content.decode()
    reveal = support.post(f"/admin/consents/subject/{subject.pk}/reveal/")

    assert "a***@example.com" in listing
    assert "ada.lovelace" not in listing
    assert "ada.lovelace" not in page
    assert "7946" not in page
    assert reveal.status_code == 403
    assert not StaffAction.objects.exists()


@pytest.mark.parametrize("term", ["  ADA.LOVELACE@example.COM", "+44 (0)20 7946 0958", "ada-1"])
def test_search_through_blind_index(client, subject, term, django_assert_max_num_queries):
    support = staff_in(client, "Support (read-only)", "helpdesk")

    with django_assert_max_num_queries(15):
        response = support.get("/admin/consents/subject/", {"q": term})

    assert response.status_code == 200
    assert "ada-1" in response.content.decode()


def test_search_never_scans(client, subject):
    support = staff_in(client, "Support (read-only)", "helpdesk")

    assert "ada-1" not in support.get("/admin/consents/subject/", {"q": "ada"}).content.decode()
    assert "ada-1" not in support.get("/admin/consents/subject/", {"q": "lovelace@"}).content.decode()


def test_privacy_officer_reveal_is_audited(client, subject):
    officer = staff_in(client, "Privacy officer", "dpo")

    confirm = officer.get(f"/admin/consents/subject/{subject.pk}/reveal/")
    assert not StaffAction.objects.exists()  # asking for confirmation reveals nothing
    revealed = officer.post(f"/admin/consents/subject/{subject.pk}/reveal/")

    assert confirm.status_code == 200
    assert "ada.lovelace" not in confirm.content.decode()
    assert revealed.status_code == 200
    assert "ada.lovelace@example.com" in revealed.content.decode()
    assert "+442079460958" in revealed.content.decode()
    action = StaffAction.objects.get()
    assert (action.actor, action.action, action.subject_id) == ("dpo", "reveal", subject.pk)
    audit = officer.get("/admin/consents/staffaction/").content.decode()
    assert "dpo" in audit


def test_nobody_changes_subjects(client, subject):
    officer = staff_in(client, "Privacy officer", "dpo")

    assert officer.post(f"/admin/consents/subject/{subject.pk}/delete/", {"post": "yes"}).status_code == 403
    assert officer.get("/admin/consents/subject/add/").status_code == 403
    assert Subject.objects.filter(pk=subject.pk).exists()


def test_export_needs_permission_and_is_audited(client, subject):
    support = staff_in(client, "Support (read-only)", "helpdesk")
    assert support.post(f"/admin/consents/subject/{subject.pk}/export/").status_code == 403

    officer = staff_in(client, "Privacy officer", "dpo")
    confirm = officer.get(f"/admin/consents/subject/{subject.pk}/export/")
    download = officer.post(f"/admin/consents/subject/{subject.pk}/export/")

    assert confirm.status_code == 200
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    document = download.json()
    assert document["subject"]["email"] == "ada.lovelace@example.com"
    assert StaffAction.objects.get().action == "export"


def test_erase_from_admin(client, subject):
    support = staff_in(client, "Support (read-only)", "helpdesk")
    assert support.post(f"/admin/consents/subject/{subject.pk}/erase/").status_code == 403
    assert Subject.objects.get(pk=subject.pk).erased_at is None

    officer = staff_in(client, "Privacy officer", "dpo")
    assert officer.get(f"/admin/consents/subject/{subject.pk}/erase/").status_code == 200
    response = officer.post(f"/admin/consents/subject/{subject.pk}/erase/", {"release_subject_id": "true"})

    assert response.status_code == 302
    erased = Subject.objects.get(pk=subject.pk)
    assert erased.erased_at is not None
    assert erased.email_encrypted is None
    assert erased.subject_id.startswith("erased-")
    assert StaffAction.objects.get().action == "erase"
    assert officer.post(f"/admin/consents/subject/{subject.pk}/erase/").status_code == 404
