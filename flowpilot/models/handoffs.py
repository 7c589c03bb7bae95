"""Escalations (handoffs) of an AI session to a senior."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot.kernel.db.base import Base, JSONType, UTCDateTime, new_id


class HandoffStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


HANDOFF_STATUSES: tuple[HandoffStatus, ...] = tuple(HandoffStatus)
LIVE_STATUSES = (HandoffStatus.OPEN, HandoffStatus.CLAIMED)
# The statuses in which a handoff has a claim (``claimed_at``): release clears it, cancel
# needs an open handoff.
CLAIMED_STATUSES = (HandoffStatus.CLAIMED, HandoffStatus.RESOLVED)
URGENCIES: tuple[Urgency, ...] = tuple(Urgency)
URGENCY_RANK: dict[str, int] = {u: i for i, u in enumerate(URGENCIES)}
# The queue's "urgency first" order as a number that sorts ascending with the other keys
# (critical 0 ... low 3), stored on the handoff so one index serves the sort.
TRIAGE_RANK: dict[str, int] = {u: len(URGENCIES) - 1 - i for u, i in URGENCY_RANK.items()}
URGENCY_BY_TRIAGE_RANK: dict[int, str] = {r: u for u, r in TRIAGE_RANK.items()}
# Minutes to claim an escalation of each urgency, unless the account set its own.
DEFAULT_CLAIM_TARGET_MINUTES: dict[str, int] = {
    Urgency.CRITICAL: 5,
    Urgency.HIGH: 15,
    Urgency.NORMAL: 60,
    Urgency.LOW: 240,
}


class RollupState(IntEnum):
    """How much of a settled escalation the analytics pre-aggregate counts (NULL: nothing yet)."""

    COUNTED = 1
    # Resolved with no first action: counted without a time to first action.
    NO_FIRST_ACTION = 2
    # The same, and its holder has acted since (the steps write path marks it): that one
    # duration is still to be rolled up, and analytics reads it from the row meanwhile.
    FIRST_ACTION_SINCE = 3


_UNROLLED = f"rollup_state IS NULL OR rollup_state = {RollupState.FIRST_ACTION_SINCE:d}"


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one live handoff per session, enforced by the database itself.
        Index(
            "uq_handoffs_live_session",
            "session_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'claimed')"),
            postgresql_where=text("status IN ('open', 'claimed')"),
        ),
        # The queue: an account's handoffs in (created_at, id) order, optionally by status (the
        # id makes the whole page order an index range: no sort, with or without statistics).
        Index("ix_handoffs_account_created_id", "account_id", "created_at", "id"),
        Index("ix_handoffs_account_status_created_id", "account_id", "status", "created_at", "id"),
        Index("ix_handoffs_account_id_claimed_at", "account_id", "claimed_at"),
        # Triage: one ordered range per (status, urgency) for every queue sort, and the same
        # under one claimer ("mine"); see handoffs/queue.py.
        Index(
            "ix_handoffs_triage",
            "account_id",
            "status",
            "triage_rank",
            "created_at",
            "id",
        ),
        Index(
            "ix_handoffs_claimer_triage",
            "account_id",
            "claimed_by_id",
            "status",
            "triage_rank",
            "created_at",
            "id",
        ),
        # The breach job: every account's open, not yet breached handoffs by due time.
        Index(
            "ix_handoffs_breach_due",
            "claim_due_at",
            sqlite_where=text("status = 'open' AND breached_at IS NULL"),
            postgresql_where=text("status = 'open' AND breached_at IS NULL"),
        ),
        # The idle guard: claimed handoffs whose holder has not acted yet.
        Index(
            "ix_handoffs_idle",
            "claimed_at",
            sqlite_where=text("status = 'claimed' AND first_action_at IS NULL"),
            postgresql_where=text("status = 'claimed' AND first_action_at IS NULL"),
        ),
        # Writing a step stamps the first action on its session's handoffs: a seek by session.
        Index("ix_handoffs_session_id", "session_id"),
        # Analytics reads these rows itself: not rolled up yet, or a first action made since
        # (``analytics/rollup.py``).
        Index(
            "ix_handoffs_unrolled",
            "account_id",
            "created_at",
            sqlite_where=text(_UNROLLED),
            postgresql_where=text(_UNROLLED),
        ),
        # The escalation chain scans every account's still-open handoffs by age.
        Index(
            "ix_handoffs_open_created_at",
            "created_at",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(ForeignKey("ai_sessions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(20), default="normal")
    # TRIAGE_RANK[urgency]: written with the urgency, never on its own.
    triage_rank: Mapped[int] = mapped_column(SmallInteger, default=2, server_default=text("2"))
    escalated_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    claimed_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolved_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The claimer's first step in the session at or after ``claimed_at`` (time to first
    # action). Set when that step is written, cleared by release together with the claim.
    first_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the current holder was handed it (POST .../assign); NULL: they claimed it. Time to
    # first action and the idle guard count from here for the new holder (``held_since``).
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the current holder was nudged for not acting (the idle guard, once per holding).
    idle_nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Analytics' pre-aggregate (``analytics/rollup.py``): NULL until counted, once settled.
    rollup_state: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Claim target: created_at + the account's target for the urgency (fixed at escalation).
    # breached_at: when FlowPilot recorded the handoff still open at or after claim_due_at
    # (the breach job, or a claim/withdrawal that came after the due time).
    claim_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Escalation chain bookkeeping (notifications): when re-notify / admin alert went out.
    renotified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    admin_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Assistant-generated handoff summary, cached once per escalation.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    summary_generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def held_since(self) -> datetime | None:
        """Since when the current holder has it: handed to them, else their own claim."""
        return self.assigned_at or self.claimed_at
