"""handoffs.first_action_at: time to first action kept on the handoff

Revision ID: 0002_first_action_at
Revises: 0001_initial
Create Date: 2026-11-25 22:20:00

Analytics used to look up every claimed handoff's first action in ``steps``; the write path
now stamps it on the handoff, so this adds the column, fills it for existing handoffs with the
same definition, and indexes what the new reads and writes seek on.

No table is rebuilt: SQLite adds and drops the column with plain ``ALTER TABLE``. A batch
"move and copy" would ``DROP TABLE handoffs``, and with ``PRAGMA foreign_keys=ON`` that deletes
every event and delivery that cascades from a handoff.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_first_action_at"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Time to first action, as analytics computed it before this revision: the claimer's first
# step in the handoff's session at or after the current claim. Assistant steps have no author
# (actor_id NULL) so they never equal claimed_by_id; released handoffs have no claim. Portable
# SQL (SQLite and PostgreSQL); the step write path applies the same conditions one step at a time.
BACKFILL = """
UPDATE handoffs SET first_action_at = (
    SELECT MIN(steps.created_at) FROM steps
    WHERE steps.session_id = handoffs.session_id
      AND steps.actor_id = handoffs.claimed_by_id
      AND steps.created_at >= handoffs.claimed_at
)
WHERE handoffs.status IN ('claimed', 'resolved')
  AND handoffs.claimed_at IS NOT NULL
  AND handoffs.first_action_at IS NULL
"""


def upgrade() -> None:
    op.add_column(
        "handoffs", sa.Column("first_action_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(BACKFILL)
    op.create_index("ix_handoffs_session_id", "handoffs", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_handoffs_session_id", table_name="handoffs")
    op.drop_column("handoffs", "first_action_at")
