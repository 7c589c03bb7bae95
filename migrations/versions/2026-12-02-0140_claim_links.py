"""Claim from the email: one-time links, only their secret's SHA-256 stored

Revision ID: 0005_act_faster_claim_links
Revises: 0005_act_faster
Create Date: 2026-12-02 01:40:00

- ``claim_links``: one row per escalation email that asks its recipient to claim (one
  recipient, one escalation, one delivery), with its expiry and when it was used; a tenant
  table with row-level security and the app role's grants on PostgreSQL, as revision 0003.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_act_faster_claim_links"
down_revision: str | None = "0005_act_faster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "tenant_isolation"
SETTING = "app.account_id"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _secure_claim_links() -> None:
    """Row-level security and the app role's grants for the new tenant table (as in 0003)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _ident(str(op.get_context().config.attributes["db_app_role"]))  # type: ignore[union-attr]
    op.execute("ALTER TABLE claim_links ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE claim_links FORCE ROW LEVEL SECURITY")
    check = f"account_id = current_setting('{SETTING}', true)"
    op.execute(f"CREATE POLICY {POLICY} ON claim_links USING ({check}) WITH CHECK ({check})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON claim_links TO {role}")


def upgrade() -> None:
    op.create_table(
        "claim_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("handoff_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_id", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        *(
            sa.ForeignKeyConstraint(
                [column],
                [f"{table}.id"],
                name=op.f(f"fk_claim_links_{column}_{table}"),
                ondelete="CASCADE",
            )
            for column, table in (
                ("account_id", "accounts"),
                ("handoff_id", "handoffs"),
                ("recipient_id", "users"),
                ("delivery_id", "deliveries"),
            )
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_links")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_claim_links_delivery_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_claim_links_token_hash")),
    )
    op.create_index("ix_claim_links_handoff_id", "claim_links", ["handoff_id"])
    _secure_claim_links()


def downgrade() -> None:
    op.drop_index("ix_claim_links_handoff_id", table_name="claim_links")
    op.drop_table("claim_links")
