"""row-level security: the database's tenant wall (PostgreSQL only)

DESIGN rule 2's second wall. Every table holding one account's rows gets row-level security,
enabled and FORCED (the table owner is subject to it too, so only an explicit BYPASSRLS or
superuser login sees across accounts), with one policy for reads and writes:
``account_id = current_setting('app.account_id', true)`` (``accounts``: its ``id``). A
transaction that has not said which account it acts for sees nothing and can write nothing.

Requests run as the app role (``FLOWPILOT_DB_APP_ROLE``, default ``flowpilot_app``): created
here when missing (NOLOGIN; roles are cluster-wide, so this is idempotent and race-safe), never
the owner, never BYPASSRLS, with just the table privileges requests need. Two SECURITY DEFINER
functions answer the only questions asked before an account is known: who holds this login
token (every request), which account has this email (login; and the service-wide unique-email
check). Downgrade removes policies, functions and grants; it leaves the shared role.

Revision ID: 0003_row_level_security
Revises: 0002_first_action_at
Create Date: 2026-11-25 22:32:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_row_level_security"
down_revision: str | None = "0002_first_action_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table -> the column naming its account.
TENANT_TABLES = {
    "accounts": "id",
    "users": "account_id",
    "login_sessions": "account_id",
    "ai_sessions": "account_id",
    "steps": "account_id",
    "handoffs": "account_id",
    "events": "account_id",
    "deliveries": "account_id",
    "baseline_observations": "account_id",
}
# What requests may do. Accounts are created and deleted by the system path only; the event
# log is append-only for requests (marking events published is the system path's batch work);
# login_failures holds no account's rows (keys are emails and addresses) and has no policy.
APP_PRIVILEGES = {
    "accounts": "SELECT, UPDATE",
    "events": "SELECT, INSERT",
    "login_failures": "SELECT, INSERT, DELETE",
    **{
        table: "SELECT, INSERT, UPDATE, DELETE"
        for table in TENANT_TABLES
        if table not in ("accounts", "events")
    },
}
SEQUENCES = (("events", "id"), ("login_failures", "id"))
POLICY = "tenant_isolation"
SETTING = "app.account_id"

# Who holds this token: the login session and its user, for one token hash (the credential
# itself). PL/pgSQL so the plan is cached per connection (it runs on every request).
LOGIN_BY_TOKEN = """
CREATE FUNCTION flowpilot_login_by_token(p_token_hash text)
RETURNS TABLE (
    login_session_id varchar, csrf_token varchar, expires_at timestamptz, user_id varchar,
    account_id varchar, role varchar, email varchar, name varchar, active boolean
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
    SELECT s.id, s.csrf_token, s.expires_at, u.id, u.account_id, u.role, u.email, u.name,
           u.active
    FROM {schema}.login_sessions s JOIN {schema}.users u ON u.id = s.user_id
    WHERE s.token_hash = p_token_hash;
END
$fn$
"""
# Which account has a user with this email: its id only (emails are unique service-wide).
ACCOUNT_OF_EMAIL = """
CREATE FUNCTION flowpilot_account_of_email(p_email text) RETURNS varchar
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT u.account_id FROM {schema}.users u WHERE u.email = p_email $fn$
"""
# Both run as the owner, so they resolve names only in pg_catalog (tables are schema-qualified):
# with the app's schema on their search_path, an operator such as =(varchar, text) created there
# would be an exact match and run as the owner. The upgrade also revokes CREATE on the schema
# from PUBLIC (PostgreSQL 14 and older grant it) and the server refuses to start if requests may
# create objects there.
FUNCTIONS = ("flowpilot_login_by_token(text)", "flowpilot_account_of_email(text)")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _app_role() -> str:
    role = op.get_context().config.attributes["db_app_role"]  # type: ignore[union-attr]
    return _ident(str(role))


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgresql():
        return  # SQLite: one process, one tenant wall (the application's)
    bind = op.get_bind()
    role_name = op.get_context().config.attributes["db_app_role"]  # type: ignore[union-attr]
    role = _app_role()
    schema = _ident(bind.execute(sa.text("SELECT current_schema()")).scalar_one())

    # Roles are cluster-wide: several databases (test workers) may create it at once.
    op.execute(
        f"""DO $$ BEGIN
            CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$"""
    )
    facts = bind.execute(
        sa.text(
            "SELECT r.rolsuper OR r.rolbypassrls AS bypasses, r.rolname = current_user AS is_me"
            " FROM pg_roles r WHERE r.rolname = :role"
        ),
        {"role": role_name},
    ).one()
    if facts.bypasses or facts.is_me:
        why = "bypasses row-level security" if facts.bypasses else "is running this migration"
        raise RuntimeError(
            f"role {role_name} {why}; requests must run as a role that neither owns the tables"
            " nor bypasses row-level security (run migrations as the table owner)"
        )

    for table, column in TENANT_TABLES.items():
        t = _ident(table)
        op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
        check = f"{_ident(column)} = current_setting('{SETTING}', true)"
        op.execute(f"CREATE POLICY {POLICY} ON {t} USING ({check}) WITH CHECK ({check})")

    op.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    op.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM {role}")
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    for table, privileges in APP_PRIVILEGES.items():
        op.execute(f"GRANT {privileges} ON {_ident(table)} TO {role}")
    for table, column in SEQUENCES:
        sequence = bind.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column}
        ).scalar_one()
        op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {role}")

    op.execute(LOGIN_BY_TOKEN.format(schema=schema))
    op.execute(ACCOUNT_OF_EMAIL.format(schema=schema))
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")


def downgrade() -> None:
    if not _is_postgresql():
        return
    bind = op.get_bind()
    role_name = op.get_context().config.attributes["db_app_role"]  # type: ignore[union-attr]
    role = _app_role()
    schema = _ident(bind.execute(sa.text("SELECT current_schema()")).scalar_one())
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    role_exists = bind.execute(
        sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role_name}
    ).first()
    if role_exists:
        for table in APP_PRIVILEGES:
            op.execute(f"REVOKE ALL ON {_ident(table)} FROM {role}")
        for table, column in SEQUENCES:
            sequence = bind.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column}
            ).scalar_one()
            op.execute(f"REVOKE ALL ON SEQUENCE {sequence} FROM {role}")
        op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {role}")
    for table in TENANT_TABLES:
        t = _ident(table)
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {t}")
        op.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")
