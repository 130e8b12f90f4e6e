"""Make the consent ledger append-only in the database itself (PostgreSQL only).

The model layer already refuses updates and deletes; the trigger also stops
raw SQL, a shell session or a future bug. TRUNCATE is not row-level and is
left to database privileges.
"""
from django.db import migrations

CREATE_SQL = """
CREATE FUNCTION consents_reject_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consents_consentevent is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consents_consentevent_append_only
    BEFORE UPDATE OR DELETE ON consents_consentevent
    FOR EACH ROW EXECUTE FUNCTION consents_reject_ledger_change();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS consents_consentevent_append_only ON consents_consentevent;
DROP FUNCTION IF EXISTS consents_reject_ledger_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_create_consent_ledger")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
