"""HTTP for the assistant: streamed answers and write-ups, handoff summaries, seniors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.assistant import service
from flowpilot.assistant.deps import ProviderDep
from flowpilot.assistant.provider import AssistantUnavailable, Provider
from flowpilot.assistant.schemas import AskIn, HandoffSummary, SuggestedSenior, SuggestedSeniors
from flowpilot.auth.deps import CurrentUser
from flowpilot.kernel.context import context_of
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.identity import AccountRef

router = APIRouter(prefix="/api/v1", tags=["assistant"])
log = logging.getLogger("flowpilot.assistant")

ERROR_PREFIX = "[assistant error] "
# The longest answer kept (and saved as a step), the same bound as a human step's text.
MAX_ANSWER_CHARS = 20_000
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


async def _streamed(
    request: Request,
    chunks: AsyncIterator[str],
    *,
    save_to: tuple[str, str] | None,
) -> StreamingResponse:
    """Start ``chunks`` now (so a provider failing at once is a 502), then stream the rest.

    With ``save_to=(account_id, session_id)`` the complete answer becomes an assistant step in
    its own short transaction after the last chunk; an interrupted or failed answer saves nothing.
    """
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = ""
    ctx = context_of(request)

    async def body() -> AsyncIterator[str]:
        parts: list[str] = []
        size = 0
        try:
            async for chunk in _prepend(first, chunks):
                if size + len(chunk) > MAX_ANSWER_CHARS:
                    # A runaway model must not write an unbounded step: cut, say so, stop.
                    chunk = chunk[: MAX_ANSWER_CHARS - size]
                    parts.append(chunk)
                    yield chunk + f"\n[answer cut at {MAX_ANSWER_CHARS} characters]\n"
                    break
                size += len(chunk)
                parts.append(chunk)
                yield chunk
        except AssistantUnavailable as exc:
            yield f"\n\n{ERROR_PREFIX}{exc.detail}\n"
            return
        finally:
            await _close(chunks)
        answer = "".join(parts).strip()
        if not answer:
            yield f"{ERROR_PREFIX}the assistant returned an empty answer\n"
            return
        if save_to is None:
            return
        account_id, session_id = save_to
        try:
            tenant = AccountRef(account_id)
            async with unit_of_work(ctx.sessionmaker, tenant=tenant) as db:
                await service.record_answer(
                    db, tenant=tenant, session_id=session_id, content=answer, now=ctx.clock.now()
                )
        except Exception as exc:
            log.exception("could not save the assistant's answer to session %s", session_id)
            yield f"\n\n{ERROR_PREFIX}the answer could not be saved ({type(exc).__name__})\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8", headers=STREAM_HEADERS)


async def _prepend(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


async def _close(chunks: AsyncIterator[str]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


async def _end_reads(session: AsyncSession) -> None:
    """End the request's (read-only so far) transaction before waiting on a provider.

    A model may take seconds to answer; on SQLite every transaction holds the database's write
    lock (BEGIN IMMEDIATE), so holding one across the wait would stall every other request.
    Nothing was written yet, so ending it is a rollback; the request's dependency commits what
    the endpoint writes afterwards, in a transaction of its own.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("the assistant's request wrote before waiting on the provider")
    await session.rollback()


@router.post("/sessions/{session_id}/assistant", response_class=StreamingResponse)
async def ask_assistant(
    session_id: str,
    actor: CurrentUser,
    session: SessionDep,
    request: Request,
    provider: ProviderDep,
    body: AskIn | None = None,
) -> StreamingResponse:
    """Stream the assistant's answer as plain text; it is saved as an assistant step."""
    question = body.question if body else None
    ctx = await service.ask_context(session, actor=actor, session_id=session_id, question=question)
    await _end_reads(session)
    return await _streamed(
        request, provider.ask(ctx, question), save_to=(actor.account_id, session_id)
    )


@router.post("/sessions/{session_id}/writeup", response_class=StreamingResponse)
async def session_writeup(
    session_id: str,
    actor: CurrentUser,
    session: SessionDep,
    request: Request,
    provider: ProviderDep,
) -> StreamingResponse:
    """Stream a customer-ready write-up (problem, cause, fix, steps); nothing is saved."""
    ctx = await service.writeup_context(session, actor=actor, session_id=session_id)
    await _end_reads(session)
    return await _streamed(request, provider.writeup(ctx), save_to=None)


async def _summary(
    handoff_id: str,
    actor: CurrentUser,
    session: AsyncSession,
    *,
    regenerate: bool,
    now: datetime,
    provider: Provider,
) -> HandoffSummary:
    handoff = await service.readable_handoff(session, actor=actor, handoff_id=handoff_id)
    cached = service.cached_summary(handoff)
    if cached is not None and not regenerate:
        return HandoffSummary.model_validate(cached)
    ctx = await service.summary_context(session, tenant=actor, handoff=handoff)
    await _end_reads(session)
    summary = await provider.summarize(ctx)
    stored = await service.store_summary(
        session,
        tenant=actor,
        handoff_id=handoff_id,
        summary=summary,
        now=now,
    )
    return HandoffSummary.model_validate(stored)


@router.get("/handoffs/{handoff_id}/summary", response_model=HandoffSummary)
async def get_handoff_summary(
    handoff_id: str, actor: CurrentUser, session: SessionDep, now: NowDep, provider: ProviderDep
) -> HandoffSummary:
    """The cached handoff summary (generated on first request)."""
    return await _summary(handoff_id, actor, session, regenerate=False, now=now, provider=provider)


@router.post("/handoffs/{handoff_id}/summary", response_model=HandoffSummary)
async def regenerate_handoff_summary(
    handoff_id: str, actor: CurrentUser, session: SessionDep, now: NowDep, provider: ProviderDep
) -> HandoffSummary:
    """Regenerate the handoff summary now and cache the new one."""
    return await _summary(handoff_id, actor, session, regenerate=True, now=now, provider=provider)


@router.get("/handoffs/{handoff_id}/suggested-seniors", response_model=SuggestedSeniors)
async def suggested_seniors(
    handoff_id: str, actor: CurrentUser, session: SessionDep
) -> SuggestedSeniors:
    """The account's seniors who resolved the most similar past sessions."""
    await service.readable_handoff(session, actor=actor, handoff_id=handoff_id)
    items = await service.suggested_seniors(session, tenant=actor, handoff_id=handoff_id)
    return SuggestedSeniors(items=[SuggestedSenior.model_validate(i) for i in items])
