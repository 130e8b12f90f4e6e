"""Master-key rotation: move every wrapped data key to the primary master key.

Both passes walk the subjects table in primary-key order, one batch at a time
(keyset pagination), so memory stays flat whatever the table size. Each batch
of writes commits on its own, so a killed run loses at most one batch and a
rerun continues where it stopped.
"""
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client import Gauge

from consents import crypto, vault
from consents.models import ConsentEvidence, DataKeyRotation, Subject

logger = logging.getLogger(__name__)

# Written by the reencrypt command; /metrics shows it when the command shares
# the server's PROMETHEUS_MULTIPROC_DIR.
reencrypt_progress = Gauge(
    "consentvault_reencrypt_subjects",
    "Progress of the running or last reencrypt pass: subjects processed and to process.",
    ["pass_name", "count"],
    multiprocess_mode="mostrecent",
)

DEFAULT_BATCH_SIZE = 1000


@dataclass
class RotationReport:
    examined: int = 0
    rewrapped: int = 0
    rekeyed: int = 0
    already_current: int = 0
    seconds: float = 0.0
    failures: list[tuple[int, str]] = field(default_factory=list)  # (row id, subject_id)


def _track(pass_name: str, total: int, progress: Callable[[int], None] | None) -> Callable[[int], None]:
    """Return a progress callback that also updates the reencrypt gauge."""
    reencrypt_progress.labels(pass_name=pass_name, count="total").set(total)
    reencrypt_progress.labels(pass_name=pass_name, count="processed").set(0)

    def report(done: int) -> None:
        reencrypt_progress.labels(pass_name=pass_name, count="processed").set(done)
        if progress:
            progress(done)

    return report


def _batches(queryset, batch_size: int, fields: tuple[str, ...]) -> Iterator[list[tuple]]:
    """Yield rows of ``queryset`` in primary-key order, ``batch_size`` at a time."""
    last_pk = 0
    while True:
        rows = list(queryset.filter(pk__gt=last_pk).order_by("pk").values_list("pk", *fields)[:batch_size])
        if not rows:
            return
        yield rows
        last_pk = rows[-1][0]


# Django's bulk_update builds one CASE expression per field, which cost 30 times
# more CPU than the encryption in profiling. executemany sends plain UPDATEs,
# which psycopg 3 pipelines.
_REWRAP_SQL = f"""
    UPDATE {Subject._meta.db_table} SET master_key_fingerprint = %s, data_key_wrapped = %s WHERE id = %s
"""  # noqa: S608 (constants only)
_REKEY_SQL = f"""
    UPDATE {Subject._meta.db_table}
    SET master_key_fingerprint = %s, data_key_wrapped = %s, email_encrypted = %s, phone_encrypted = %s,
        data_key_rotated_at = %s
    WHERE id = %s
"""  # noqa: S608 (constants only)
_EVIDENCE_SQL = f"UPDATE {ConsentEvidence._meta.db_table} SET ciphertext = %s WHERE event_id = %s"  # noqa: S608


def _execute_many(sql: str, rows: list[tuple]) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _with_data_key():
    return Subject.objects.filter(data_key_wrapped__isnull=False)


def find_undecryptable(
    *, batch_size: int = DEFAULT_BATCH_SIZE, deep: bool = False, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Check that every data key unwraps; with ``deep``, that identifiers and evidence decrypt too.

    Reads only. Returns the failing rows in ``failures``.
    """
    ring = vault.keyring()
    report = RotationReport()
    fields = ("subject_id", "master_key_fingerprint", "data_key_wrapped", "email_encrypted", "phone_encrypted")
    for rows in _batches(_with_data_key(), batch_size, fields):
        keys = {}
        for pk, subject_id, master_fingerprint, wrapped, email, phone in rows:
            try:
                data_key = ring.unwrap(master_fingerprint, bytes(wrapped))
                if deep:
                    vault.open_identifier(data_key, vault.EMAIL, email, subject_pk=pk)
                    vault.open_identifier(data_key, vault.PHONE, phone, subject_pk=pk)
                keys[pk] = data_key
            except (crypto.DecryptionError, vault.UndecryptableData):
                report.failures.append((pk, subject_id))
        if deep:
            _check_evidence(keys, report, {pk: subject_id for pk, subject_id, *_ in rows})
        report.examined += len(rows)
        if progress:
            progress(report.examined)
    return report


def _check_evidence(keys: dict[int, bytes], report: RotationReport, subject_ids: dict[int, str]) -> None:
    failed = {pk for pk, _ in report.failures}
    evidence = ConsentEvidence.objects.filter(event__subject_id__in=keys).values_list(
        "event__subject_id", "event__event_id", "ciphertext"
    )
    for subject_pk, event_id, ciphertext in evidence:
        try:
            crypto.decrypt(keys[subject_pk], ciphertext, vault.evidence_aad(event_id))
        except crypto.DecryptionError:
            if subject_pk not in failed:
                failed.add(subject_pk)
                report.failures.append((subject_pk, subject_ids[subject_pk]))


def rewrap_data_keys(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Re-wrap, under the primary master key, every data key wrapped by another one.

    Idempotent: keys already under the primary are skipped, so a second run
    changes nothing and a run killed halfway resumes where it stopped.
    """
    ring = vault.keyring()
    report = RotationReport()
    started = time.monotonic()
    report.already_current = _with_data_key().filter(master_key_fingerprint=ring.primary).count()
    pending = _with_data_key().exclude(master_key_fingerprint=ring.primary)
    progress = _track("rewrap", pending.count(), progress)
    for rows in _batches(pending, batch_size, ("master_key_fingerprint", "data_key_wrapped")):
        if not dry_run:
            with transaction.atomic():
                locked = list(
                    Subject.objects.select_for_update()
                    .filter(pk__in=[row[0] for row in rows], data_key_wrapped__isnull=False)
                    .exclude(master_key_fingerprint=ring.primary)
                    .only("pk", "master_key_fingerprint", "data_key_wrapped")
                )
                updates = []
                for subject in locked:
                    data_key = ring.unwrap(subject.master_key_fingerprint, bytes(subject.data_key_wrapped))
                    master_fingerprint, wrapped = ring.wrap(data_key)
                    updates.append((master_fingerprint, wrapped, subject.pk))
                _execute_many(_REWRAP_SQL, updates)
                report.rewrapped += len(locked)
        else:
            report.rewrapped += len(rows)
        report.examined += len(rows)
        progress(report.examined)
    report.seconds = time.monotonic() - started
    logger.info(
        "Dry run: data keys to re-wrap counted" if dry_run else "Data keys re-wrapped",
        extra={"rewrapped": report.rewrapped, "primary": ring.primary, "dry_run": dry_run, "seconds": report.seconds},
    )
    return report


def rotate_data_keys(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Give every subject a fresh data key, re-encrypting its identifiers and evidence.

    Ledger rows are not touched: evidence lives in its own table. The run is
    recorded in DataKeyRotation, and a run killed halfway resumes with the
    subjects it had not reached.
    """
    ring = vault.keyring()
    report = RotationReport()
    started = time.monotonic()
    run = DataKeyRotation.objects.filter(finished_at__isnull=True).order_by("started_at").first()
    if run is None and not dry_run:
        run = DataKeyRotation.objects.create()
    cutoff = run.started_at if run else timezone.now()
    pending = _with_data_key().filter(Q(data_key_rotated_at__isnull=True) | Q(data_key_rotated_at__lt=cutoff))
    progress = _track("rotate", pending.count(), progress)
    for rows in _batches(pending, batch_size, ()):
        if not dry_run:
            with transaction.atomic():
                report.rekeyed += _rekey_batch([row[0] for row in rows], ring, cutoff)
        else:
            report.rekeyed += len(rows)
        report.examined += len(rows)
        progress(report.examined)
    if run is not None and not dry_run:
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
    report.seconds = time.monotonic() - started
    logger.info(
        "Dry run: data keys to rotate counted" if dry_run else "Data keys rotated",
        extra={"rekeyed": report.rekeyed, "dry_run": dry_run, "seconds": report.seconds},
    )
    return report


def _rekey_batch(pks: list[int], ring: crypto.KeyRing, cutoff) -> int:
    subjects = list(
        Subject.objects.select_for_update()
        .filter(pk__in=pks, data_key_wrapped__isnull=False)
        .filter(Q(data_key_rotated_at__isnull=True) | Q(data_key_rotated_at__lt=cutoff))
    )
    old_keys, new_keys = {}, {}
    now = timezone.now()
    for subject in subjects:
        old_key = ring.unwrap(subject.master_key_fingerprint, bytes(subject.data_key_wrapped))
        new_key = crypto.new_data_key()
        old_keys[subject.pk], new_keys[subject.pk] = old_key, new_key
        for kind in (vault.EMAIL, vault.PHONE):
            value = vault.open_identifier(old_key, kind, getattr(subject, f"{kind}_encrypted"), subject_pk=subject.pk)
            if value is not None:
                setattr(subject, f"{kind}_encrypted", vault.seal_identifier(new_key, kind, value))
        subject.master_key_fingerprint, subject.data_key_wrapped = ring.wrap(new_key)
        subject.data_key_rotated_at = now
    evidence = list(ConsentEvidence.objects.filter(event__subject_id__in=old_keys).select_related("event"))
    for record in evidence:
        aad = vault.evidence_aad(record.event.event_id)
        plaintext = crypto.decrypt(old_keys[record.event.subject_id], record.ciphertext, aad)
        record.ciphertext = crypto.encrypt(new_keys[record.event.subject_id], plaintext, aad)
    _execute_many(
        _REKEY_SQL,
        [
            (
                subject.master_key_fingerprint,
                subject.data_key_wrapped,
                subject.email_encrypted,
                subject.phone_encrypted,
                subject.data_key_rotated_at,
                subject.pk,
            )
            for subject in subjects
        ],
    )
    _execute_many(_EVIDENCE_SQL, [(record.ciphertext, record.pk) for record in evidence])
    return len(subjects)


def key_usage() -> dict[str | None, int]:
    """Return how many subjects each master-key fingerprint protects (None: erased, no key)."""
    rows = Subject.objects.values("master_key_fingerprint").annotate(subjects=Count("pk")).order_by()
    return {row["master_key_fingerprint"]: row["subjects"] for row in rows}
