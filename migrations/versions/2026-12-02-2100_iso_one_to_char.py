"""fp_iso writes a time with one to_char (PostgreSQL)

Revision ID: 0011_iso_one_to_char
Revises: 0010_claim_function
Create Date: 2026-12-02 21:00:00

The same text as before (``...T12:00:00Z``, ``.250000Z`` with a fraction) for about two thirds
of the cost: one ``to_char`` with the microseconds, whose ``.000000`` is dropped on a whole
second, where the first version compared the time with its truncation and formatted twice.
The export writes five times per line through it. Nothing on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_iso_one_to_char"
down_revision: str | None = "0010_claim_function"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ``.000000Z`` can only be the fraction of a whole second: the rest of the text has no dot.
ONE_TO_CHAR = """
CREATE OR REPLACE FUNCTION fp_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z')
$$
"""

TWO_TO_CHARS = """
CREATE OR REPLACE FUNCTION fp_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN date_trunc('second', t) = t THEN '' ELSE to_char(t AT TIME ZONE 'UTC', '.US') END
    || 'Z'
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ONE_TO_CHAR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TWO_TO_CHARS)
