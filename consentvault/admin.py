"""Admin building blocks shared by the apps' staff console pages."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model admin whose rows can be viewed and filtered, and nothing else, superusers included."""

    # Audit and ledger tables grow to millions of rows; skip the exact COUNT(*)
    # of the unfiltered table on every changelist.
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
