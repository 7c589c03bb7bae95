"""Manual baseline: stopwatch times of escalations handled the old way; the escalations' daily
pre-aggregate."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot.kernel.db.base import Base, UTCDateTime, new_id


class BaselineObservation(Base):
    __tablename__ = "baseline_observations"
    __table_args__ = (
        Index("ix_baseline_observations_account_id_observed_at", "account_id", "observed_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    seconds: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandoffDayCount(Base):
    """Settled escalations of one account, UTC day of creation, urgency and claim-target outcome
    (``due``: its claim was due and it was not withdrawn in time; ``met``: never breached): the
    count and the exact sums of both durations, in microseconds (``analytics/rollup.py``)."""

    __tablename__ = "handoff_day_counts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    urgency: Mapped[str] = mapped_column(String(20), primary_key=True)
    due: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    met: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    # The latest claim due time counted: a window ending before it cannot use the row.
    max_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ttc_n: Mapped[int] = mapped_column(BigInteger)
    ttc_us: Mapped[Decimal] = mapped_column(Numeric)
    ttfa_n: Mapped[int] = mapped_column(BigInteger)
    ttfa_us: Mapped[Decimal] = mapped_column(Numeric)


class HandoffDayBucket(Base):
    """How many settled escalations of one account and UTC day fall in each 2 % log bucket of a
    duration (``metric`` 0: time to claim, 1: time to first action)."""

    __tablename__ = "handoff_day_buckets"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class HandoffDuration(Base):
    """One rolled-up duration of a settled escalation (``metric`` as in ``HandoffDayBucket``),
    with its bucket: a window reads a percentile's order statistics from here, in bucket and
    value order, from the bucket that holds its rank."""

    __tablename__ = "handoff_durations"
    __table_args__ = (
        Index(
            "ix_handoff_durations_rank",
            "account_id",
            "metric",
            "bucket",
            "seconds",
            postgresql_include=["created_at"],
        ),
    )

    handoff_id: Mapped[str] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # The escalation's creation: which window the duration belongs to.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bucket: Mapped[int] = mapped_column(SmallInteger)
    seconds: Mapped[float] = mapped_column(Float)
