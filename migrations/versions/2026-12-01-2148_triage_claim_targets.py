"""Triage: urgency rank and claim target columns on handoffs, targets per account, alerts per user

Revision ID: 0004_triage
Revises: 0003_row_level_security
Create Date: 2026-12-01 21:48:00

- ``handoffs.triage_rank`` (critical 0 ... low 3) so one index serves "urgency first";
  ``claim_due_at`` and ``breached_at``; the indexes the queue sorts and the breach job seek on.
- ``accounts.claim_target_minutes`` (NULL: the defaults).
- ``users.alert_desktop``, ``alert_min_urgency``, ``alert_sound`` (queue page attention).

Existing handoffs get ``claim_due_at`` from the default targets. Those already past their due
time when they left ``open`` (or still open now) are marked breached here, without an alert:
the breach job alerts only about handoffs that pass their due time from now on.

No table is rebuilt (see revision 0002): plain ``ALTER TABLE ... ADD COLUMN`` on SQLite.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from flowpilot.kernel.db.base import UTCDateTime

revision: str = "0004_triage"
down_revision: str | None = "0003_row_level_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration must not change when the app's constants do).
TARGETS = {"critical": 5, "high": 15, "normal": 60, "low": 240}
RANK_BACKFILL = """
UPDATE handoffs SET triage_rank = CASE urgency
    WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'low' THEN 3 ELSE 2 END
"""
BATCH = 1000

handoffs = sa.table(
    "handoffs",
    sa.column("id", sa.String),
    sa.column("urgency", sa.String),
    sa.column("status", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("claimed_at", UTCDateTime()),
    sa.column("cancelled_at", UTCDateTime()),
    sa.column("claim_due_at", UTCDateTime()),
    sa.column("breached_at", UTCDateTime()),
)


def _backfill_due_times() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    last = ""
    while True:
        rows = conn.execute(
            sa.select(
                handoffs.c.id,
                handoffs.c.urgency,
                handoffs.c.status,
                handoffs.c.created_at,
                handoffs.c.claimed_at,
                handoffs.c.cancelled_at,
            )
            .where(handoffs.c.id > last)
            .order_by(handoffs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for r in rows:
            due = r.created_at + timedelta(minutes=TARGETS.get(r.urgency, 60))
            left_open = r.claimed_at or r.cancelled_at or (now if r.status == "open" else None)
            breached = left_open if left_open is not None and left_open >= due else None
            updates.append({"b_id": r.id, "b_due": due, "b_breached": breached})
        conn.execute(
            sa.update(handoffs)
            .where(handoffs.c.id == sa.bindparam("b_id"))
            .values(
                claim_due_at=sa.bindparam("b_due", type_=UTCDateTime()),
                breached_at=sa.bindparam("b_breached", type_=UTCDateTime()),
            ),
            updates,
        )
        last = rows[-1].id


def upgrade() -> None:
    op.add_column(
        "handoffs",
        sa.Column("triage_rank", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
    )
    op.add_column("handoffs", sa.Column("claim_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("handoffs", sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accounts", sa.Column("claim_target_minutes", sa.JSON(), nullable=True))
    op.add_column(
        "users",
        sa.Column("alert_desktop", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "users",
        sa.Column("alert_min_urgency", sa.String(length=20), server_default="high", nullable=False),
    )
    op.add_column(
        "users",
        sa.Column("alert_sound", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(RANK_BACKFILL)
    _backfill_due_times()
    op.create_index(
        "ix_handoffs_triage",
        "handoffs",
        ["account_id", "status", "triage_rank", "created_at", "id"],
    )
    op.create_index(
        "ix_handoffs_claimer_triage",
        "handoffs",
        ["account_id", "claimed_by_id", "status", "triage_rank", "created_at", "id"],
    )
    where = sa.text("status = 'open' AND breached_at IS NULL")
    op.create_index(
        "ix_handoffs_breach_due",
        "handoffs",
        ["claim_due_at"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_handoffs_breach_due", table_name="handoffs")
    op.drop_index("ix_handoffs_claimer_triage", table_name="handoffs")
    op.drop_index("ix_handoffs_triage", table_name="handoffs")
    for column in ("alert_sound", "alert_min_urgency", "alert_desktop"):
        op.drop_column("users", column)
    op.drop_column("accounts", "claim_target_minutes")
    for column in ("breached_at", "claim_due_at", "triage_rank"):
        op.drop_column("handoffs", column)
