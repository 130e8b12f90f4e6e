"""The staff console's views of purposes and the consent ledger.

The ledger (events and current states) can be viewed and filtered, never
added, changed or deleted from here, superusers included. Subjects are not
listed: their identifiers are personal data.
"""
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from consentvault.admin import ReadOnlyAdmin
from consents import overview, services
from consents.models import ConsentEvent, CurrentConsent, Purpose, PurposeVersion, StaffAction


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


class SourceFilter(admin.SimpleListFilter):
    """Filter events by the usual sources, without a SELECT DISTINCT over the whole ledger."""

    title = "source"
    parameter_name = "source"
    SOURCES = ("web", "app", "email", "phone", "import", "api")

    def lookups(self, request, model_admin):
        return [(source, source) for source in self.SOURCES]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


class CreatePurposeForm(forms.ModelForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), max_length=100_000, strip=False,
        help_text="The notice text of version 1.",
    )

    class Meta:
        model = Purpose
        fields = ("slug", "title", "description", "legal_basis", "validity_days")


class PublishVersionForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 10, "cols": 80}), max_length=100_000, strip=False)
    material_change = forms.BooleanField(
        required=False, help_text="Earlier grants no longer cover this text and will report reconsent_required."
    )


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "legal_basis", "validity_days", "current_version", "minimum_valid_version")
    search_fields = ("slug", "title")
    readonly_fields = ("slug", "current_version", "minimum_valid_version", "publish_link", "created_at", "updated_at")
    fields = (
        "publish_link",
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

    @admin.display(description="Notice text")
    def publish_link(self, purpose):
        url = reverse("admin:consents_purpose_publish", args=[purpose.pk])
        return format_html('<a href="{}" id="publish-link">Publish a new version</a>', url)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CreatePurposeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("slug", "title", "description", "legal_basis", "validity_days", "text")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_purpose(
            slug=data["slug"],
            title=data["title"],
            description=data["description"],
            legal_basis=data["legal_basis"],
            validity_days=data["validity_days"],
            text=data["text"],
        )
        obj.pk = created.pk
        obj._state.adding = False
        StaffAction.objects.create(
            actor=request.user.get_username(), action=StaffAction.Kind.PUBLISH, details=f"{created.slug} v1 (created)"
        )

    def get_urls(self):
        views = [
            path("overview/", self.admin_site.admin_view(self.overview_view), name="consents_overview"),
            path("<int:purpose_pk>/publish/", self.admin_site.admin_view(self.publish_view), name="consents_purpose_publish"),
        ]
        return [*views, *super().get_urls()]

    def publish_view(self, request, purpose_pk):
        """Publish the next version of a purpose's notice text (staff who may change purposes)."""
        if not request.user.has_perm("consents.change_purpose"):
            raise PermissionDenied
        purpose = get_object_or_404(Purpose, pk=purpose_pk)
        form = PublishVersionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            version = services.publish_purpose_version(
                slug=purpose.slug, text=form.cleaned_data["text"], material_change=form.cleaned_data["material_change"]
            )
            StaffAction.objects.create(
                actor=request.user.get_username(),
                action=StaffAction.Kind.PUBLISH,
                details=f"{purpose.slug} v{version.number}" + (" (material change)" if version.material_change else ""),
            )
            self.message_user(request, f"Published version {version.number} of {purpose.slug}.")
            return HttpResponseRedirect(reverse("admin:consents_purpose_change", args=[purpose.pk]))
        context = {
            **self.admin_site.each_context(request),
            "purpose": purpose,
            "next_number": purpose.current_version + 1,
            "form": form,
        }
        return TemplateResponse(request, "admin/consents/purpose/publish.html", context)

    def overview_view(self, request):
        """Show subjects per purpose by status, and grants and withdrawals per day (staff who may view purposes)."""
        if not request.user.has_perm("consents.view_purpose"):
            raise PermissionDenied
        numbers = overview.overview_numbers()
        context = {
            **self.admin_site.each_context(request),
            "statuses": numbers["statuses"],
            "days": overview.OVERVIEW_DAYS,
            "cache_seconds": overview.CACHE_SECONDS,
            "chart": overview.chart(numbers["activity"]),
        }
        return TemplateResponse(request, "admin/consents/overview.html", context)

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger refers to every purpose


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "purpose", "version", "action", "occurred_at", "recorded_at", "source")
    list_filter = ("purpose", "action", SourceFilter, ("occurred_at", admin.DateFieldListFilter))
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
