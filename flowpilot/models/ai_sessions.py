"""AI sessions (a technician's working log) and their steps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot.kernel.db.base import Base, JSONType, UTCDateTime, new_id


class StepKind(StrEnum):
    NOTE = "note"
    ACTION = "action"
    RESULT = "result"
    # No human author: never counts as anyone's first action.
    ASSISTANT = "assistant"


class SessionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


STEP_KINDS = (StepKind.NOTE, StepKind.ACTION, StepKind.RESULT)  # what a person may add
ALL_STEP_KINDS: tuple[StepKind, ...] = tuple(StepKind)
SESSION_STATUSES: tuple[SessionStatus, ...] = tuple(SessionStatus)


class AiSession(Base):
    __tablename__ = "ai_sessions"
    __table_args__ = (
        Index("ix_ai_sessions_account_id_created_at", "account_id", "created_at"),
        Index("ix_ai_sessions_owner_id", "owner_id"),
        Index("ix_ai_sessions_assignee_id", "assignee_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    customer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    asset: Mapped[str | None] = mapped_column(String(200), nullable=True)
    environment: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (
        # Time to first action looks up a session's steps by time: keep it an index seek.
        Index("ix_steps_session_id_created_at", "session_id", "created_at"),
        # "The claimer's first step in this session since the claim" as one index-only seek.
        # Analytics no longer asks it (handoffs.first_action_at is stamped on the write path);
        # migration 0002's backfill does, and the benchmark's steps-derived cross-check.
        Index("ix_steps_session_id_actor_id_created_at", "session_id", "actor_id", "created_at"),
        Index("ix_steps_account_id_created_at", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(ForeignKey("ai_sessions.id", ondelete="CASCADE"))
    # Who made the step; NULL only for assistant steps.
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
