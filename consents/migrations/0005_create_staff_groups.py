"""Create the two staff groups of the Django admin, with their permissions.

"Privacy officer" may view everything, the staff audit log included, reveal,
export and erase personal data, change purposes and manage API keys. "Support (read-only)" may view purposes,
subjects (identifiers masked) and the ledger, and nothing else. Reversing the
migration deletes both groups.
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

PRIVACY_OFFICER = "Privacy officer"
SUPPORT = "Support (read-only)"

VIEW_ALL = [
    ("consents", "view_purpose"),
    ("consents", "view_purposeversion"),
    ("consents", "view_subject"),
    ("consents", "view_consentevent"),
    ("consents", "view_currentconsent"),
    ("consents", "view_erasure"),
]
GROUP_PERMISSIONS = {
    SUPPORT: VIEW_ALL,
    PRIVACY_OFFICER: VIEW_ALL
    + [
        ("consents", "add_purpose"),
        ("consents", "change_purpose"),
        ("consents", "view_staffaction"),
        ("consents", "view_personal_data"),
        ("consents", "export_subject"),
        ("consents", "erase_subject"),
        ("apikeys", "view_apikey"),
        ("apikeys", "add_apikey"),
        ("apikeys", "change_apikey"),
        ("apikeys", "view_apikeyevent"),
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_label in ("consents", "apikeys"):
        app_config = apps.get_app_config(app_label)
        if not getattr(app_config, "models_module", None):  # migration state apps have none; create_permissions needs one
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codenames
        ]
        group.permissions.set(permissions)


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUP_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consents", "0004_add_staff_audit_log"),
        ("apikeys", "0002_add_key_lifecycle_and_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
