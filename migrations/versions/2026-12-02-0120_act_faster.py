"""Act faster: hand to a named senior, the claimed-but-idle guard, claim from the email

Revision ID: 0005_act_faster
Revises: 0008_queue_index
Create Date: 2026-12-02 01:00:00

- ``handoffs.assigned_at``: when the current holder was handed the escalation (NULL: they
  claimed it themselves); time to first action and the idle guard count from it.
- ``handoffs.idle_nudged_at``: when the current holder was nudged for not acting (once).
- ``accounts.idle_claim_nudge_minutes`` (10) and ``idle_claim_release_minutes`` (30, NULL: off).
- ``ix_handoffs_idle``: the guard's seek over claimed handoffs without a first action.

No table is rebuilt (see revision 0002): plain ``ALTER TABLE ... ADD COLUMN`` on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_act_faster"
down_revision: str | None = "0008_queue_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("handoffs", sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "handoffs", sa.Column("idle_nudged_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "accounts",
        sa.Column(
            "idle_claim_nudge_minutes", sa.Integer(), server_default=sa.text("10"), nullable=False
        ),
    )
    op.add_column(
        "accounts",
        sa.Column(
            "idle_claim_release_minutes", sa.Integer(), server_default=sa.text("30"), nullable=True
        ),
    )
    where = sa.text("status = 'claimed' AND first_action_at IS NULL")
    op.create_index(
        "ix_handoffs_idle", "handoffs", ["claimed_at"], sqlite_where=where, postgresql_where=where
    )


def downgrade() -> None:
    op.drop_index("ix_handoffs_idle", table_name="handoffs")
    for column in ("idle_claim_release_minutes", "idle_claim_nudge_minutes"):
        op.drop_column("accounts", column)
    for column in ("idle_nudged_at", "assigned_at"):
        op.drop_column("handoffs", column)
