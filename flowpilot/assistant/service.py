"""The assistant's rules: who may ask, what context a provider sees, summaries, seniors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.ai_sessions import service as sessions_service
from flowpilot.assistant import repository as repo
from flowpilot.assistant.offline import OfflineProvider, band_words
from flowpilot.assistant.openai_compat import OpenAICompatProvider
from flowpilot.assistant.provider import Pause, Provider, SessionContext, StepView
from flowpilot.assistant.retrieval import MAX_CORPUS, SILENCE_BELOW, Hit, Index, IndexCache, Query
from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.errors import Conflict, Forbidden, Invalid
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.settings import Settings
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import AiSession, Handoff, Step
from flowpilot.models.ai_sessions import SessionStatus, StepKind

SIMILAR_IN_ANSWERS = 3
SIMILAR_FOR_SENIORS = 10
# Cached handoff summaries older than this were made before the relevance threshold: remade.
SUMMARY_VERSION = 2


def session_query(
    ai_session: AiSession,
    steps: list[StepView],
    *,
    question: str | None = None,
    reason: str | None = None,
) -> Query:
    """What retrieval looks for: the session by field (its customer's name is no evidence)."""
    return Query.of(
        {
            "title": ai_session.title,
            "problem": ai_session.problem,
            "asset": ai_session.asset,
            "question": question,
            "reason": reason,
            "steps": "\n".join(s.content for s in steps if s.kind != StepKind.ASSISTANT),
            "environment": "\n".join(str(v) for v in (ai_session.environment or {}).values()),
        }
    )


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
    query: Query | str,
    exclude_session_id: str | None = None,
    limit: int = SIMILAR_IN_ANSWERS,
    min_relevance: float = SILENCE_BELOW,
) -> list[Hit]:
    """The account's resolved sessions that look like ``query`` (never another account's).

    Only those at or above the silence threshold: an empty list means "nothing looks like it".
    """
    index = await _account_index(session, tenant)
    exclude = [exclude_session_id] if exclude_session_id else []
    hits = index.search(query, limit=limit, exclude=exclude, min_relevance=min_relevance)
    # Resolver names are read now, not when the index was built (people get renamed).
    names = await repo.user_names(session, tenant, (h.doc.resolved_by_id or "" for h in hits))
    return [
        replace(h, doc=replace(h.doc, resolved_by_name=names.get(h.doc.resolved_by_id or "")))
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
        query=session_query(ai_session, steps, question=question, reason=reason),
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


def answer_token(secret: str, *, account_id: str, session_id: str, answer: str) -> str:
    """A signature binding an answer to the session it was given in, so only the assistant's
    own words can be kept as an assistant step."""
    digest = hashlib.sha256(answer.strip().encode()).hexdigest()
    message = f"assistant-answer\n{account_id}\n{session_id}\n{digest}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


async def keep_answer(
    session: AsyncSession,
    *,
    actor: Actor,
    session_id: str,
    answer: str,
    token: str,
    secret: str,
    now: datetime,
    bus: Publisher | None = None,
) -> tuple[Step, bool]:
    """Add an answer the assistant gave in this session as an ``assistant`` step with no
    human author (never anyone's first action). Who may add steps may keep one; keeping the
    same answer again returns the step already kept. Returns ``(step, created)``."""
    ai_session = await sessions_service.get_session(session, actor=actor, session_id=session_id)
    if not sessions_service.can_add_step(actor, ai_session):
        raise Forbidden("only the session's owner, its current assignee or an admin may add steps")
    if ai_session.status != SessionStatus.OPEN:
        raise Conflict(f"session is {ai_session.status}", status=ai_session.status)
    expected = answer_token(
        secret, account_id=actor.account_id, session_id=session_id, answer=answer
    )
    # Bytes: compare_digest raises on non-ASCII str, and a token is whatever the client sent.
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise Invalid("token", "does not match this answer in this session; ask again")
    content = answer.strip()
    existing = await repo.assistant_step(session, actor, session_id=session_id, content=content)
    if existing is not None:
        return existing, False
    step = await sessions_service.add_assistant_step(
        session, tenant=actor, session_id=session_id, content=content, now=now, bus=bus
    )
    return step, True


async def readable_handoff(session: AsyncSession, *, actor: Actor, handoff_id: str) -> Handoff:
    """A handoff the caller may read: the account's seniors and the escalator."""
    handoff = await repo.get_handoff(session, actor, handoff_id)
    if not actor.is_senior and actor.id != handoff.escalated_by_id:
        raise Forbidden("only the account's engineers and admins or the escalator may read this")
    return handoff


def cached_summary(handoff: Handoff) -> dict[str, Any] | None:
    """The handoff's stored summary, if one was generated by these rules (never generates)."""
    summary = handoff.summary
    if not summary or summary.get("version") != SUMMARY_VERSION:
        return None
    return dict(summary)


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
    summary = {**summary, "generated_at": now.isoformat(), "version": SUMMARY_VERSION}
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
    """The summary's next steps, one line each: the fix, the session it comes from, who
    resolved it, and why it matches (the shared model, error text and symptom)."""
    lines = []
    for item in (summary.get("next_steps") or {}).get("items") or []:
        src = item.get("source") or {}
        by = f", resolved by {src['resolved_by_name']}" if src.get("resolved_by_name") else ""
        why = f"; {band_words(src['band'])} on {src['why_text']}" if src.get("why_text") else ""
        lines.append(f"{item['suggestion']} (from “{src.get('title')}”, {src.get('url')}{by}{why})")
    return lines


def build_provider(settings: Settings, *, pause: Pause = asyncio.sleep) -> Provider:
    """The configured provider: the OpenAI-compatible model when a base URL is set, else offline.

    Built once per process (the runtime's context) and handed to requests as ``ProviderDep``.
    The offline provider pauses ``assistant_pace_seconds`` between the lines it streams.
    """
    if settings.llm_base_url:
        return OpenAICompatProvider(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    return OfflineProvider(pace_seconds=settings.assistant_pace_seconds, pause=pause)
