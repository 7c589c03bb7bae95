"""Analytics pre-aggregate: settled escalations rolled up per account and UTC day

Revision ID: 0009_analytics_rollup
Revises: 0005_act_faster_claim_links
Create Date: 2026-12-02 13:00:00

- ``handoffs.rollup_state``: NULL until the rollup job counted the (settled) escalation; 1 when
  everything about it is counted; 2 when it was resolved with no first action yet, so all but
  its time to first action is counted; 3 when that first action has been made since (read from
  the row until it is rolled up too).
- ``handoff_day_counts``: per account, UTC day of creation, urgency and claim-target outcome,
  the count and the exact sums (microseconds) of both durations; ``handoff_day_buckets``: per
  account, day, duration and log bucket (2 % wide), the count. Tenant tables under row-level
  security, as revision 0003.
- ``handoff_durations``: each rolled-up duration with its bucket, indexed by account, duration,
  bucket and value: the few order statistics a percentile needs are read in that order.
- ``ix_handoffs_unrolled``: the rows not (fully) rolled up, which a window reads directly.
- PostgreSQL only: ``fp_duration_bucket(seconds)``, the bucket (immutable).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_analytics_rollup"
down_revision: str | None = "0005_act_faster_claim_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "tenant_isolation"
SETTING = "app.account_id"
TABLES = ("handoff_day_counts", "handoff_day_buckets", "handoff_durations")

# ln(1.02): buckets 2 % wide from 1 ms; bucket 0 holds everything under 1 ms.
BUCKET_FUNCTION = """
CREATE FUNCTION fp_duration_bucket(seconds double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN seconds < 0.001 THEN 0
    ELSE least(1400, 1 + floor(ln(seconds * 1000.0::float8) / 0.0198026272961797::float8)::int)
  END
$$
"""
UNROLLED = "rollup_state IS NULL OR rollup_state = 3"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _postgresql() -> None:
    role = _ident(str(op.get_context().config.attributes["db_app_role"]))  # type: ignore[union-attr]
    check = f"account_id = current_setting('{SETTING}', true)"
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({check}) WITH CHECK ({check})")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
    op.execute(BUCKET_FUNCTION)


def upgrade() -> None:
    op.add_column("handoffs", sa.Column("rollup_state", sa.SmallInteger(), nullable=True))
    op.create_table(
        "handoff_day_counts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("due", sa.Boolean(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("max_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ttc_n", sa.BigInteger(), nullable=False),
        sa.Column("ttc_us", sa.Numeric(), nullable=False),
        sa.Column("ttfa_n", sa.BigInteger(), nullable=False),
        sa.Column("ttfa_us", sa.Numeric(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_handoff_day_counts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "urgency", "due", "met", name=op.f("pk_handoff_day_counts")
        ),
    )
    op.create_table(
        "handoff_day_buckets",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_handoff_day_buckets_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "metric", "bucket", name=op.f("pk_handoff_day_buckets")
        ),
    )
    op.create_table(
        "handoff_durations",
        sa.Column("handoff_id", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.SmallInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_handoff_durations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_handoff_durations_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("handoff_id", "metric", name=op.f("pk_handoff_durations")),
    )
    op.create_index(
        "ix_handoff_durations_rank",
        "handoff_durations",
        ["account_id", "metric", "bucket", "seconds"],
        postgresql_include=["created_at"],
    )
    op.create_index(
        "ix_handoffs_unrolled",
        "handoffs",
        ["account_id", "created_at"],
        sqlite_where=sa.text(UNROLLED),
        postgresql_where=sa.text(UNROLLED),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION fp_duration_bucket(double precision)")
    op.drop_index("ix_handoffs_unrolled", table_name="handoffs")
    op.drop_index("ix_handoff_durations_rank", table_name="handoff_durations")
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_column("handoffs", "rollup_state")
