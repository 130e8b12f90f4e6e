"""The staff console's views of purposes and the consent ledger.

The ledger (events and current states) can be viewed and filtered, never
added, changed or deleted from here, superusers included. Subjects are not
listed: their identifiers are personal data.
"""
from django.contrib import admin

from consents.models import ConsentEvent, CurrentConsent, Purpose, PurposeVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model admin whose rows can be viewed and filtered, and nothing else."""

    # The ledger tables grow to millions of rows; skip the exact COUNT(*) of
    # the unfiltered table on every changelist.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


class PurposeVersionInline(admin.TabularInline):
    model = PurposeVersion
    fields = ("number", "material_change", "published_at", "text_sha256", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # publish versions through POST /v1/admin/purposes/{slug}/versions

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "legal_basis", "validity_days", "current_version", "minimum_valid_version")
    search_fields = ("slug", "title")
    readonly_fields = ("slug", "current_version", "minimum_valid_version", "created_at", "updated_at")
    fields = (
        "slug",
        "title",
        "description",
        "legal_basis",
        "validity_days",
        "current_version",
        "minimum_valid_version",
        "created_at",
        "updated_at",
    )
    inlines = [PurposeVersionInline]

    def has_add_permission(self, request):
        return False  # a purpose needs its first notice text: POST /v1/admin/purposes

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger refers to every purpose


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "purpose", "version", "action", "occurred_at", "recorded_at", "source")
    # Not source: its filter would run SELECT DISTINCT over the whole ledger.
    list_filter = ("purpose", "action")
    list_select_related = ("purpose",)
    fields = ("event_id", "subject", "purpose", "version", "action", "occurred_at", "recorded_at", "source", "api_key")
    readonly_fields = fields
    raw_id_fields = ("subject",)


@admin.register(CurrentConsent)
class CurrentConsentAdmin(ReadOnlyAdmin):
    list_display = ("subject_id", "purpose", "action", "version", "occurred_at")
    list_filter = ("purpose", "action")
    list_select_related = ("purpose",)
    fields = ("subject", "purpose", "action", "version", "occurred_at", "event", "updated_at")
    readonly_fields = fields
from consents import admin_subjects  # noqa: E402,F401  (registers subjects and the audit log)
