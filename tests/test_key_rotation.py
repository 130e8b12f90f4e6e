"""Master-key rotation: generate_key, reencrypt, check_keys."""
import base64
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consents import key_rotation, subject_services
from consents.crypto import fingerprint, generate_key, parse_master_keys
from consents.models import DataKeyRotation, Subject
from tests.conftest import post_consent

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fingerprint_of(key: str) -> str:
    return fingerprint(base64.urlsafe_b64decode(key))


@pytest.fixture
def old_key(settings):
    key = generate_key()
    settings.CONSENTVAULT_KEYRING = parse_master_keys(key)
    return key


def make_subjects(count: int, *, with_email: bool = False):
    for index in range(count):
        subject_services.set_identifiers(
            subject_id=f"s{index}",
            email=f"person{index}@example.com" if with_email else subject_services.UNCHANGED,
            create=True,
        )


def rotate_to_new_key(settings, old_key: str) -> str:
    new_key = generate_key()
    settings.CONSENTVAULT_KEYRING = parse_master_keys(f"{new_key}, {old_key}")
    return new_key


def test_generate_key_prints_usable_key():
    out, err = run("generate_key")

    key = out.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert err.strip() == f"Fingerprint: {fingerprint_of(key)}"
    blind, _ = run("generate_key", "--blind-index")
    assert len(base64.urlsafe_b64decode(blind.strip())) == 32
    assert blind.strip() != key


def test_reencrypt_moves_keys_to_primary(settings, old_key, privacy):
    make_subjects(5, with_email=True)
    new_key = rotate_to_new_key(settings, old_key)

    out, _ = run("reencrypt")

    assert "Re-wrapped 5 data key(s)" in out
    assert set(Subject.objects.values_list("master_key_fingerprint", flat=True)) == {fingerprint_of(new_key)}
    settings.CONSENTVAULT_KEYRING = parse_master_keys(new_key)  # the old key removed
    assert privacy.get("/v1/subjects/s3").json()["email"] == "person3@example.com"


def test_reencrypt_second_run_changes_nothing(settings, old_key):
    make_subjects(3)
    rotate_to_new_key(settings, old_key)
    run("reencrypt")
    before = list(Subject.objects.order_by("pk").values_list("data_key_wrapped", flat=True))

    out, _ = run("reencrypt")

    assert "Re-wrapped 0 data key(s)" in out
    assert "3 were already under it" in out
    assert [bytes(value) for value in Subject.objects.order_by("pk").values_list("data_key_wrapped", flat=True)] == [
        bytes(value) for value in before
    ]


def test_reencrypt_dry_run_writes_nothing(settings, old_key):
    make_subjects(3)
    rotate_to_new_key(settings, old_key)

    out, _ = run("reencrypt", "--dry-run")

    assert "Would re-wrap 3 data key(s)" in out
    assert set(Subject.objects.values_list("master_key_fingerprint", flat=True)) == {fingerprint_of(old_key)}


def test_reencrypt_resumes_after_kill(settings, old_key):
    make_subjects(7)
    new_key = rotate_to_new_key(settings, old_key)

    def kill_after_first_batch(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        key_rotation.rewrap_data_keys(batch_size=3, progress=kill_after_first_batch)
    assert Subject.objects.filter(master_key_fingerprint=fingerprint_of(new_key)).count() == 3

    report = key_rotation.rewrap_data_keys(batch_size=3)

    assert report.rewrapped == 4
    assert Subject.objects.filter(master_key_fingerprint=fingerprint_of(new_key)).count() == 7


def test_reencrypt_refuses_when_a_key_is_missing(settings, old_key):
    make_subjects(2)
    lost = Subject.objects.get(subject_id="s1")
    settings.CONSENTVAULT_KEYRING = parse_master_keys(generate_key())  # the old key is gone
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 subject"):
        call_command("reencrypt", stdout=io.StringIO(), stderr=err)

    assert f"subject row {lost.pk} (s1)" in err.getvalue()
    assert set(Subject.objects.values_list("master_key_fingerprint", flat=True)) == {fingerprint_of(old_key)}
    assert old_key not in err.getvalue()


def test_rotate_data_keys_reencrypts_everything(settings, old_key, privacy, marketing):
    make_subjects(2, with_email=True)
    post_consent(privacy, subject_id="s0", purpose="marketing-email", action="granted", evidence={"form": "x"})
    before = bytes(Subject.objects.get(subject_id="s0").email_encrypted)

    out, _ = run("reencrypt", "--rotate-data-keys")

    assert "Gave 2 subject(s) a fresh data key" in out
    subject = Subject.objects.get(subject_id="s0")
    assert bytes(subject.email_encrypted) != before
    assert subject.data_key_rotated_at is not None
    assert DataKeyRotation.objects.get().finished_at is not None
    assert privacy.get("/v1/subjects/s0").json()["email"] == "person0@example.com"
    assert privacy.get("/v1/subjects/s0/events").json()["results"][0]["evidence"] == {"form": "x"}


def test_rotate_data_keys_resumes(settings, old_key):
    make_subjects(5)

    def kill(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        key_rotation.rotate_data_keys(batch_size=2, progress=kill)
    assert Subject.objects.filter(data_key_rotated_at__isnull=False).count() == 2

    report = key_rotation.rotate_data_keys(batch_size=2)

    assert report.rekeyed == 3
    assert DataKeyRotation.objects.count() == 1
    assert Subject.objects.filter(data_key_rotated_at__isnull=True).count() == 0


def test_check_keys_reports_usage(settings, old_key):
    make_subjects(3)
    new_key = rotate_to_new_key(settings, old_key)

    out, _ = run("check_keys")
    assert f"1. {fingerprint_of(new_key)}  primary  wraps 0 data key(s)" in out
    assert f"2. {fingerprint_of(old_key)}  retired  wraps 3 data key(s); run `manage.py reencrypt`" in out

    run("reencrypt")
    out, _ = run("check_keys")
    assert f"2. {fingerprint_of(old_key)}  retired  wraps 0 data key(s); can be removed from the list" in out


def test_check_keys_fails_on_unknown_key(settings, old_key):
    make_subjects(1)
    settings.CONSENTVAULT_KEYRING = parse_master_keys(generate_key())

    with pytest.raises(CommandError, match="missing from CONSENTVAULT_MASTER_KEYS"):
        run("check_keys")
