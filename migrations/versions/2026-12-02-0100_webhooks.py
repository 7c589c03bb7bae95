"""Webhooks: the previous signing secret (honoured 24 h after a rotation) and the message format

Revision ID: 0007_webhooks
Revises: 0004_triage
Create Date: 2026-12-02 01:00:00

- ``accounts.webhook_previous_secret`` and ``webhook_secret_rotated_at``: after a rotation each
  webhook carries a signature with the new and one with the previous secret for 24 hours.
- ``accounts.webhook_format``: ``slack`` (the default, what every existing webhook got),
  ``teams`` or ``generic``.

No table is rebuilt (see revision 0002): plain ``ALTER TABLE ... ADD COLUMN`` on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_webhooks"
down_revision: str | None = "0004_triage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("webhook_previous_secret", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "accounts",
        sa.Column("webhook_secret_rotated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "accounts",
        sa.Column("webhook_format", sa.String(length=20), server_default="slack", nullable=False),
    )


def downgrade() -> None:
    for column in ("webhook_format", "webhook_secret_rotated_at", "webhook_previous_secret"):
        op.drop_column("accounts", column)
