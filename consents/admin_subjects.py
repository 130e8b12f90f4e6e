"""The staff console's subjects: found through the blind index, identifiers masked.

Revealing, exporting and erasing each need their own permission, ask for
confirmation first, and are recorded in the staff audit log.
"""
import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from consentvault.admin import ReadOnlyAdmin
from consents import vault
from consents.identifiers import InvalidIdentifier, normalize_email, normalize_phone
from consents.models import ConsentEvent, CurrentConsent, StaffAction, Subject
from consents.serializers import export_to_dict
from consents.subject_selectors import export_subject
from consents.subject_services import erase_subject

REVEAL_PERMISSION = "consents.view_personal_data"
EXPORT_PERMISSION = "consents.export_subject"
ERASE_PERMISSION = "consents.erase_subject"


def mask_email(email: str | None) -> str:
    """Return ``a***@example.com`` for ``ada@example.com``."""
    if not email:
        return "—"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str:
    """Return ``+44*******958`` for ``+442079460958``."""
    if not phone:
        return "—"
    return f"{phone[:3]}{'*' * max(len(phone) - 6, 0)}{phone[-3:]}"


def decrypted_identifiers(subject: Subject) -> tuple[str | None, str | None]:
    if subject.data_key_wrapped is None:
        return None, None
    data_key = vault.open_data_key(
        subject_pk=subject.pk, master_fingerprint=subject.master_key_fingerprint, wrapped=subject.data_key_wrapped
    )
    email = vault.open_identifier(data_key, vault.EMAIL, subject.email_encrypted, subject_pk=subject.pk)
    phone = vault.open_identifier(data_key, vault.PHONE, subject.phone_encrypted, subject_pk=subject.pk)
    return email, phone


class CurrentConsentInline(admin.TabularInline):
    model = CurrentConsent
    fields = ("purpose", "action", "version", "occurred_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Current consents"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentEventInline(CurrentConsentInline):
    model = ConsentEvent
    fields = ("occurred_at", "purpose", "version", "action", "source", "recorded_at")
    readonly_fields = fields
    ordering = ("-occurred_at", "-id")
    verbose_name_plural = "History"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("purpose")


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    """Subjects, read-only. Search takes an exact subject id, an email or a phone number."""

    list_display = ("subject_id", "masked_email", "masked_phone", "created_at", "erased_at")
    search_fields = ("subject_id",)  # shows the search box; get_search_results does the real lookup
    search_help_text = "An exact subject id, an email address or a phone number with its country code."
    fields = ("subject_id", "masked_email", "masked_phone", "reveal_link", "created_at", "updated_at", "erased_at")
    readonly_fields = fields
    inlines = [CurrentConsentInline, ConsentEventInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            if "@" in term:
                return queryset.filter(email_blind_index=vault.identifier_index(vault.EMAIL, normalize_email(term))), False
            if term.startswith("+"):
                return queryset.filter(phone_blind_index=vault.identifier_index(vault.PHONE, normalize_phone(term))), False
        except InvalidIdentifier:
            return queryset.none(), False
        return queryset.filter(subject_id=term), False

    @admin.display(description="Email")
    def masked_email(self, subject):
        return mask_email(decrypted_identifiers(subject)[0])

    @admin.display(description="Phone")
    def masked_phone(self, subject):
        return mask_phone(decrypted_identifiers(subject)[1])

    @admin.display(description="Personal data")
    def reveal_link(self, subject):
        if subject.erased_at is not None:
            return "erased"
        links = [
            ("consents_subject_reveal", "reveal-link", "Reveal identifiers"),
            ("consents_subject_export", "export-link", "Export"),
            ("consents_subject_erase", "erase-link", "Erase"),
        ]
        return format_html_join(
            " · ",
            '<a href="{}" id="{}">{}</a>',
            ((reverse(f"admin:{name}", args=[subject.pk]), anchor, label) for name, anchor, label in links),
        )

    def get_urls(self):
        views = [
            path("<int:subject_pk>/reveal/", self.admin_site.admin_view(self.reveal_view), name="consents_subject_reveal"),
            path("<int:subject_pk>/export/", self.admin_site.admin_view(self.export_view), name="consents_subject_export"),
            path("<int:subject_pk>/erase/", self.admin_site.admin_view(self.erase_view), name="consents_subject_erase"),
        ]
        return [*views, *super().get_urls()]

    def _confirm(self, request, subject, *, heading, explanation, button, offer_release=False):
        context = {
            **self.admin_site.each_context(request),
            "subject": subject,
            "heading": heading,
            "explanation": explanation,
            "button": button,
            "offer_release": offer_release,
        }
        return TemplateResponse(request, "admin/consents/subject/confirm.html", context)

    def export_view(self, request, subject_pk):
        """Confirm (GET), then download everything held about the subject as JSON and record it (POST)."""
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        subject = get_object_or_404(Subject, pk=subject_pk, erased_at__isnull=True)
        if request.method != "POST":
            return self._confirm(
                request,
                subject,
                heading=f"Export subject “{subject.subject_id}”",
                explanation="The export holds the person's identifiers, consents, full history with evidence and "
                "the notice texts they acted on. It is recorded in the staff audit log.",
                button="Download the export",
            )
        document = export_to_dict(export_subject(subject_id=subject.subject_id), subject_id=subject.subject_id)
        StaffAction.objects.create(actor=request.user.get_username(), action=StaffAction.Kind.EXPORT, subject=subject)
        response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="subject-{subject.pk}-export.json"'
        return response

    def erase_view(self, request, subject_pk):
        """Confirm (GET), then erase the subject by crypto-shredding and record it (POST)."""
        if not request.user.has_perm(ERASE_PERMISSION):
            raise PermissionDenied
        subject = get_object_or_404(Subject, pk=subject_pk, erased_at__isnull=True)
        if request.method != "POST":
            return self._confirm(
                request,
                subject,
                heading=f"Erase subject “{subject.subject_id}”",
                explanation="Erasing destroys the person's data key, identifiers and evidence for good; the "
                "ledger keeps the events without them. This cannot be undone.",
                button="Erase for good",
                offer_release=True,
            )
        erasure = erase_subject(
            subject_id=subject.subject_id,
            release_subject_id=request.POST.get("release_subject_id") == "true",
            api_key=None,
        )
        StaffAction.objects.create(actor=request.user.get_username(), action=StaffAction.Kind.ERASE, subject=subject)
        self.message_user(request, f"Subject erased; its ledger remains under the reference {erasure.reference}.")
        return HttpResponseRedirect(reverse("admin:consents_subject_change", args=[subject.pk]))

    def reveal_view(self, request, subject_pk):
        """Ask for confirmation (GET), then show a subject's identifiers in full and record it (POST).

        Only staff with the "view personal data" permission may do either.
        """
        if not request.user.has_perm(REVEAL_PERMISSION):
            raise PermissionDenied
        subject = get_object_or_404(Subject, pk=subject_pk, erased_at__isnull=True)
        context = {**self.admin_site.each_context(request), "subject": subject, "revealed": False}
        if request.method == "POST":
            email, phone = decrypted_identifiers(subject)
            StaffAction.objects.create(
                actor=request.user.get_username(), action=StaffAction.Kind.REVEAL, subject=subject
            )
            context.update(revealed=True, email=email, phone=phone)
        return TemplateResponse(request, "admin/consents/subject/reveal.html", context)


@admin.register(StaffAction)
class StaffActionAdmin(ReadOnlyAdmin):
    """The staff audit log, read-only."""

    list_display = ("occurred_at", "actor", "action", "details", "subject")
    list_filter = ("action",)
    list_select_related = ("subject",)
