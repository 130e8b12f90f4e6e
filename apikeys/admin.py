"""The staff console's API keys: create (secret shown once), edit, revoke with a reason.

Every change goes through apikeys.services, so it is recorded in the key's
audit trail with the staff member as actor. Secrets are never displayed
again, and keys are revoked rather than deleted.
"""
from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse

from apikeys import services
from apikeys.models import ApiKey, ApiKeyEvent, Scope
from apikeys.rates import parse_rate
from consentvault.admin import ReadOnlyAdmin


def staff_actor(request) -> str:
    return f"staff:{request.user.get_username()}"


def _clean_rate(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parse_rate(value)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None
    return value


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expires_at", "rate_limit_read", "rate_limit_write", "active", "revoked_reason")

    def clean_rate_limit_read(self):
        return _clean_rate(self.cleaned_data.get("rate_limit_read"))

    def clean_rate_limit_write(self):
        return _clean_rate(self.cleaned_data.get("rate_limit_write"))


class ApiKeyEventInline(admin.TabularInline):
    model = ApiKeyEvent
    fields = ("occurred_at", "action", "actor", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-occurred_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "scopes", "active", "expires_at", "last_used_at", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "prefix")
    readonly_fields = ("id", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    inlines = [ApiKeyEventInline]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scopes", "expires_at", "rate_limit_read", "rate_limit_write")
        return (*self.readonly_fields, *ApiKeyForm.Meta.fields)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row is kept for the audit trail

    def get_actions(self, request):
        return {}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            issued = services.create_api_key(
                name=data["name"],
                scopes=data["scopes"],
                actor=staff_actor(request),
                expires_at=data.get("expires_at"),
                rate_limit_read=data.get("rate_limit_read"),
                rate_limit_write=data.get("rate_limit_write"),
            )
            obj.pk, obj.prefix = issued.api_key.pk, issued.api_key.prefix  # for the admin's own log entry
            obj._state.adding = False
            # Shown once by response_add, never stored: not in the session, not in a message.
            request._issued_api_key = issued
            return
        changes = {name: data[name] for name in form.changed_data if name in services.UPDATABLE_FIELDS}
        services.update_api_key(api_key=obj, changes=changes, actor=staff_actor(request))

    def response_add(self, request, obj, post_url_continue=None):
        issued = request._issued_api_key
        return TemplateResponse(
            request,
            "admin/apikeys/apikey/secret_once.html",
            {**self.admin_site.each_context(request), "api_key": issued.api_key, "secret": issued.secret},
        )


@admin.register(ApiKeyEvent)
class ApiKeyEventAdmin(ReadOnlyAdmin):
    """Every change to every API key, with its actor: the keys' audit log, read-only."""

    list_display = ("occurred_at", "api_key", "action", "actor")
    list_filter = ("action",)
    list_select_related = ("api_key",)
