"""The staff console's subjects: found through the blind index, identifiers masked, reveals audited."""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from consents import vault
from consents.identifiers import InvalidIdentifier, normalize_email, normalize_phone
from consents.models import ConsentEvent, CurrentConsent, StaffAction, Subject

REVEAL_PERMISSION = "consents.view_personal_data"


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
class SubjectAdmin(admin.ModelAdmin):
    """Subjects, read-only. Search takes an exact subject id, an email or a phone number."""

    list_display = ("subject_id", "masked_email", "masked_phone", "created_at", "erased_at")
    search_fields = ("subject_id",)  # shows the search box; get_search_results does the real lookup
    search_help_text = "An exact subject id, an email address or a phone number with its country code."
    show_full_result_count = False
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

    @admin.display(description="Identifiers")
    def reveal_link(self, subject):
        if subject.erased_at is not None:
            return "erased"
        url = reverse("admin:consents_subject_reveal", args=[subject.pk])
        return format_html('<a href="{}" id="reveal-link">Reveal identifiers</a>', url)

    def get_urls(self):
        reveal = path(
            "<int:subject_pk>/reveal/",
            self.admin_site.admin_view(self.reveal_view),
            name="consents_subject_reveal",
        )
        return [reveal, *super().get_urls()]

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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


@admin.register(StaffAction)
class StaffActionAdmin(admin.ModelAdmin):
    """The staff audit log, read-only."""

    list_display = ("occurred_at", "actor", "action", "subject")
    list_filter = ("action",)
    list_select_related = ("subject",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}
