"""All SQL for the assistant: the resolved-session corpus, seniors, handoff summaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.assistant.retrieval import ResolvedDoc
from flowpilot.kernel.identity import SENIOR_ROLES
from flowpilot.kernel.tenancy import Tenant, get_scoped, scoped, select_scoped
from flowpilot.models import AiSession, Handoff, Step, User
from flowpilot.models.ai_sessions import StepKind


async def resolved_corpus(
    session: AsyncSession, tenant: Tenant, *, limit: int
) -> list[ResolvedDoc]:
    """The account's ``limit`` most recently resolved sessions with their human steps."""
    stmt = (
        select_scoped(AiSession, tenant)
        .add_columns(User.name)
        .outerjoin(User, User.id == AiSession.resolved_by_id)
    )
    stmt = (
        stmt.where(AiSession.status == "resolved")
        .order_by(AiSession.resolved_at.desc(), AiSession.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    docs: dict[str, ResolvedDoc] = {}
    for ai_session, resolver_name in rows:
        env = ai_session.environment or {}
        docs[ai_session.id] = ResolvedDoc(
            session_id=ai_session.id,
            title=ai_session.title,
            problem=ai_session.problem,
            customer=ai_session.customer,
            asset=ai_session.asset,
            environment={str(k): str(v) for k, v in env.items()},
            resolution=ai_session.resolution or "",
            resolved_by_id=ai_session.resolved_by_id,
            resolved_by_name=resolver_name,
            resolved_at=ai_session.resolved_at,
        )
    if not docs:
        return []
    ids = (
        select_scoped(AiSession, tenant)
        .with_only_columns(AiSession.id)
        .where(AiSession.status == "resolved")
        .order_by(AiSession.resolved_at.desc(), AiSession.id.desc())
        .limit(limit)
        .scalar_subquery()
    )
    steps = (
        scoped(select(Step.session_id, Step.kind, Step.content), Step, tenant)
        .where(
            Step.kind != "assistant",
            Step.session_id.in_(ids),
        )
        .order_by(Step.created_at, Step.id)
    )
    for session_id, kind, content in (await session.execute(steps)).all():
        doc = docs.get(session_id)
        if doc is not None:  # a session resolved between the two reads is simply left out
            doc.steps.append((kind, content))
    return list(docs.values())


async def active_seniors(
    session: AsyncSession, tenant: Tenant, user_ids: Iterable[str]
) -> dict[str, str]:
    """Names of the given users who are active engineers or admins of the account."""
    wanted = list(set(user_ids))
    if not wanted:
        return {}
    stmt = (
        select_scoped(User, tenant)
        .with_only_columns(User.id, User.name)
        .where(User.id.in_(wanted), User.active.is_(True), User.role.in_(SENIOR_ROLES))
    )
    return {uid: name for uid, name in (await session.execute(stmt)).all()}


async def get_handoff(session: AsyncSession, tenant: Tenant, handoff_id: str) -> Handoff:
    return await get_scoped(session, Handoff, handoff_id, tenant, what="handoff")


async def save_summary(
    session: AsyncSession, handoff: Handoff, summary: dict[str, Any], now: datetime
) -> None:
    handoff.summary = summary
    handoff.summary_generated_at = now
    await session.flush()


async def corpus_fingerprint(session: AsyncSession, tenant: Tenant) -> tuple[int, str | None]:
    """How many resolved sessions the account has and when the latest was resolved."""
    stmt = (
        select_scoped(AiSession, tenant)
        .with_only_columns(func.count(AiSession.id), func.max(AiSession.resolved_at))
        .where(AiSession.status == "resolved")
    )
    count, latest = (await session.execute(stmt)).one()
    return int(count), str(latest) if latest is not None else None


async def user_names(
    session: AsyncSession, tenant: Tenant, user_ids: Iterable[str]
) -> dict[str, str]:
    wanted = list(set(user_ids))
    if not wanted:
        return {}
    stmt = (
        select_scoped(User, tenant).with_only_columns(User.id, User.name).where(User.id.in_(wanted))
    )
    return {uid: name for uid, name in (await session.execute(stmt)).all()}


async def assistant_step(
    session: AsyncSession, tenant: Tenant, *, session_id: str, content: str
) -> Step | None:
    """The session's assistant step with exactly this content, if one was kept already."""
    stmt = (
        select_scoped(Step, tenant)
        .where(
            Step.session_id == session_id,
            Step.kind == StepKind.ASSISTANT,
            Step.content == content,
        )
        .order_by(Step.created_at, Step.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
