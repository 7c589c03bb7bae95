"""The queue's page order per account and status in one index, the id included

Revision ID: 0008_queue_index
Revises: 0007_webhooks
Create Date: 2026-12-02 01:15:00

The default queue page (one status, newest or oldest first) orders by ``(created_at, id)``
within an account and status. ``(account_id, status, created_at)`` left the ``id`` tie-break
to a sort, so without planner statistics PostgreSQL chose to read every open row (of every
account, through ``ix_handoffs_open_created_at``) and sort. Ending the index with ``id`` makes
the page an ordered index range that stops after ``limit + 1`` entries; the same for the
account-wide order (``status=all``). The new indexes serve every query the old ones did.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_queue_index"
down_revision: str | None = "0007_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = {
    "ix_handoffs_account_status_created_id": ["account_id", "status", "created_at", "id"],
    "ix_handoffs_account_created_id": ["account_id", "created_at", "id"],
}
OLD = {
    "ix_handoffs_account_id_status_created_at": ["account_id", "status", "created_at"],
    "ix_handoffs_account_id_created_at": ["account_id", "created_at"],
}


def upgrade() -> None:
    for name, columns in NEW.items():
        op.create_index(name, "handoffs", columns)
    for name in OLD:
        op.drop_index(name, table_name="handoffs")


def downgrade() -> None:
    for name, columns in OLD.items():
        op.create_index(name, "handoffs", columns)
    for name in NEW:
        op.drop_index(name, table_name="handoffs")
