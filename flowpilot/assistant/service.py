"""The assistant's rules: who may ask, what context a provider sees, summaries, seniors."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.ai_sessions import service as sessions_service
from flowpilot.assistant import repository as repo
from flowpilot.assistant.offline import OfflineProvider
from flowpilot.assistant.openai_compat import OpenAICompatProvider
from flowpilot.assistant.provider import Provider, SessionContext, StepView
from flowpilot.assistant.retrieval import MAX_CORPUS, Hit, Index, IndexCache
from flowpilot.kernel.errors import Conflict, Forbidden
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.settings import Settings
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import AiSession, Handoff, Step

SIMILAR_IN_ANSWERS = 3
SIMILAR_FOR_SENIORS = 10


def _query_text(ai_session: AiSession, steps: list[StepView], *extra: str | None) -> str:
    parts = [ai_session.title, ai_session.problem]
    parts += [ai_session.customer or "", ai_session.asset or ""]
    parts += [str(v) for v in (ai_session.environment or {}).values()]
    parts += [s.content for s in steps if s.kind != "assistant"]
    parts += [e for e in extra if e]
    return "\n".join(parts)


# Indexes are derived, read-only data keyed by a fingerprint read from the database on every
# search, so a process-wide cache is safe with several replicas (each keeps its own).
_index_cache = IndexCache()


async def _account_index(session: AsyncSession, tenant: Tenant) -> Index:
    fingerprint = await repo.corpus_fingerprint(session, tenant)
    index = _index_cache.get(tenant.account_id, fingerprint)
    if index is None:
        docs = await repo.resolved_corpus(session, tenant, limit=MAX_CORPUS)
        # Tokenising thousands of sessions is CPU work: keep the event loop serving meanwhile.
        index = await asyncio.to_thread(Index, docs)
        _index_cache.put(tenant.account_id, fingerprint, index)
    return index


async def find_similar(
    session: AsyncSession,
    *,
    tenant: Tenant,
    query: str,
    exclude_session_id: str | None = None,
    limit: int = SIMILAR_IN_ANSWERS,
) -> list[Hit]:
    """The account's resolved sessions most similar to ``query`` (never another account's)."""
    index = await _account_index(session, tenant)
    exclude = [exclude_session_id] if exclude_session_id else []
    hits = index.search(query, limit=limit, exclude=exclude)
    # Resolver names are read now, not when the index was built (people get renamed).
    names = await repo.user_names(session, tenant, (h.doc.resolved_by_id or "" for h in hits))
    return [
        Hit(replace(h.doc, resolved_by_name=names.get(h.doc.resolved_by_id or "")), h.score)
        for h in hits
    ]


async def load_context(
    session: AsyncSession,
    *,
    tenant: Tenant,
    ai_session: AiSession,
    question: str | None = None,
    handoff: Handoff | None = None,
    similar_limit: int = SIMILAR_IN_ANSWERS,
) -> SessionContext:
    """Everything a provider needs about a session, loaded up front (before any streaming)."""
    rows: list[tuple[Step, str | None]] = list(
        await sessions_service.list_steps(session, tenant=tenant, session_id=ai_session.id)
    )
    steps = [StepView(s.kind, s.content, name, s.created_at) for s, name in rows]
    reason = handoff.reason if handoff else None
    similar = await find_similar(
        session,
        tenant=tenant,
        query=_query_text(ai_session, steps, question, reason),
        exclude_session_id=ai_session.id,
        limit=similar_limit,
    )
    return SessionContext(
        session_id=ai_session.id,
        title=ai_session.title,
        problem=ai_session.problem,
        customer=ai_session.customer,
        asset=ai_session.asset,
        environment=dict(ai_session.environment or {}),
        status=ai_session.status,
        resolution=ai_session.resolution,
        steps=steps,
        similar=similar,
        reason=reason,
        urgency=handoff.urgency if handoff else None,
    )


async def ask_context(
    session: AsyncSession, *, actor: Actor, session_id: str, question: str | None
) -> SessionContext:
    """Context for asking the assistant: anyone who may read the (open) session may ask."""
    ai_session = await sessions_service.get_session(session, actor=actor, session_id=session_id)
    if ai_session.status != "open":
        raise Conflict(
            f"session is {ai_session.status}; the assistant only answers in open sessions",
            status=ai_session.status,
        )
    return await load_context(session, tenant=actor, ai_session=ai_session, question=question)


async def writeup_context(
    session: AsyncSession, *, actor: Actor, session_id: str
) -> SessionContext:
    """Context for a customer write-up: anyone who may read the session."""
    ai_session = await sessions_service.get_session(session, actor=actor, session_id=session_id)
    return await load_context(session, tenant=actor, ai_session=ai_session)


async def record_answer(
    session: AsyncSession, *, tenant: Tenant, session_id: str, content: str, now: datetime
) -> Step:
    """Save a finished answer as an ``assistant`` step (no human author)."""
    return await sessions_service.add_assistant_step(
        session, tenant=tenant, session_id=session_id, content=content, now=now
    )


async def readable_handoff(session: AsyncSession, *, actor: Actor, handoff_id: str) -> Handoff:
    """A handoff the caller may read: the account's seniors and the escalator."""
    handoff = await repo.get_handoff(session, actor, handoff_id)
    if not actor.is_senior and actor.id != handoff.escalated_by_id:
        raise Forbidden("only the account's engineers and admins or the escalator may read this")
    return handoff


def cached_summary(handoff: Handoff) -> dict[str, Any] | None:
    """The handoff's stored summary, if one was generated (never generates)."""
    return dict(handoff.summary) if handoff.summary else None


async def summary_context(
    session: AsyncSession, *, tenant: Tenant, handoff: Handoff
) -> SessionContext:
    """What a provider summarises for a handoff: its session, steps, reason, similar sessions."""
    ai_session = await sessions_service.get_session_scoped(
        session, tenant=tenant, session_id=handoff.session_id
    )
    return await load_context(session, tenant=tenant, ai_session=ai_session, handoff=handoff)


async def store_summary(
    session: AsyncSession,
    *,
    tenant: Tenant,
    handoff_id: str,
    summary: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Cache a freshly generated summary on the handoff row."""
    handoff = await repo.get_handoff(session, tenant, handoff_id)
    summary = {**summary, "generated_at": now.isoformat()}
    await repo.save_summary(session, handoff, summary, now)
    return summary


async def handoff_summary(
    session: AsyncSession,
    *,
    tenant: Tenant,
    handoff_id: str,
    provider: Provider,
    now: datetime,
    regenerate: bool = False,
) -> dict[str, Any]:
    """The handoff's four context sections, generated once and cached on the handoff row.

    Runs in the caller's transaction, model call included; a caller that must not hold a
    transaction while a model answers uses ``summary_context`` and ``store_summary`` around it.
    """
    handoff = await repo.get_handoff(session, tenant, handoff_id)
    cached = cached_summary(handoff)
    if cached is not None and not regenerate:
        return cached
    ctx = await summary_context(session, tenant=tenant, handoff=handoff)
    summary = await provider.summarize(ctx)
    return await store_summary(
        session, tenant=tenant, handoff_id=handoff_id, summary=summary, now=now
    )


async def suggested_seniors(
    session: AsyncSession, *, tenant: Tenant, handoff_id: str
) -> list[dict[str, Any]]:
    """Active seniors who resolved the sessions most similar to the escalated one."""
    handoff = await repo.get_handoff(session, tenant, handoff_id)
    ai_session = await sessions_service.get_session_scoped(
        session, tenant=tenant, session_id=handoff.session_id
    )
    ctx = await load_context(
        session,
        tenant=tenant,
        ai_session=ai_session,
        handoff=handoff,
        similar_limit=SIMILAR_FOR_SENIORS,
    )
    counts: dict[str, int] = defaultdict(int)
    best: dict[str, float] = {}
    for hit in ctx.similar:
        uid = hit.doc.resolved_by_id
        if uid:
            counts[uid] += 1
            best[uid] = max(best.get(uid, 0.0), hit.score)
    names = await repo.active_seniors(session, tenant, counts)
    ranked = sorted(names, key=lambda uid: (-counts[uid], -best[uid], names[uid], uid))
    return [{"user_id": uid, "name": names[uid], "resolved_similar": counts[uid]} for uid in ranked]


def suggestion_lines(summary: dict[str, Any]) -> list[str]:
    """The summary's next steps, one line each, naming the cited session and who resolved it."""
    lines = []
    for item in (summary.get("next_steps") or {}).get("items") or []:
        src = item.get("source") or {}
        by = f", resolved by {src['resolved_by_name']}" if src.get("resolved_by_name") else ""
        lines.append(f"{item['suggestion']} (from “{src.get('title')}”, {src.get('url')}{by})")
    return lines


def build_provider(settings: Settings) -> Provider:
    """The configured provider: the OpenAI-compatible model when a base URL is set, else offline.

    Built once per process (the runtime's context) and handed to requests as ``ProviderDep``.
    """
    if settings.llm_base_url:
        return OpenAICompatProvider(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    return OfflineProvider()
