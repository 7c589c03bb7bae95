"""HTTP for the assistant: streamed answers and write-ups, handoff summaries, seniors."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from flowpilot.assistant import service
from flowpilot.assistant.provider import AssistantUnavailable, build_provider
from flowpilot.assistant.schemas import AskIn, HandoffSummary, SuggestedSenior, SuggestedSeniors
from flowpilot.auth.deps import CurrentUser
from flowpilot.db import SessionDep, commit

router = APIRouter(prefix="/api/v1", tags=["assistant"])

ERROR_PREFIX = "[assistant error] "
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
    maker = request.app.state.sessionmaker
    clock = request.app.state.clock

    async def body() -> AsyncIterator[str]:
        parts = [first]
        if first:
            yield first
        try:
            async for chunk in chunks:
                parts.append(chunk)
                yield chunk
        except AssistantUnavailable as exc:
            yield f"\n\n{ERROR_PREFIX}{exc.detail}\n"
            return
        answer = "".join(parts).strip()
        if not answer:
            yield f"{ERROR_PREFIX}the assistant returned an empty answer\n"
            return
        if save_to is not None:
            account_id, session_id = save_to
            async with maker() as db:
                await service.record_answer(
                    db,
                    tenant=_Account(account_id),
                    session_id=session_id,
                    content=answer,
                    now=clock.now(),
                )
                await commit(db)

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8", headers=STREAM_HEADERS)


class _Account:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id


@router.post("/sessions/{session_id}/assistant", response_class=StreamingResponse)
async def ask_assistant(
    session_id: str,
    actor: CurrentUser,
    session: SessionDep,
    request: Request,
    body: AskIn | None = None,
) -> StreamingResponse:
    """Stream the assistant's answer as plain text; it is saved as an assistant step."""
    question = body.question if body else None
    ctx = await service.ask_context(session, actor=actor, session_id=session_id, question=question)
    provider = build_provider(request.app.state.settings)
    return await _streamed(
        request, provider.ask(ctx, question), save_to=(actor.account_id, session_id)
    )


@router.post("/sessions/{session_id}/writeup", response_class=StreamingResponse)
async def session_writeup(
    session_id: str, actor: CurrentUser, session: SessionDep, request: Request
) -> StreamingResponse:
    """Stream a customer-ready write-up (problem, cause, fix, steps); nothing is saved."""
    ctx = await service.writeup_context(session, actor=actor, session_id=session_id)
    provider = build_provider(request.app.state.settings)
    return await _streamed(request, provider.writeup(ctx), save_to=None)


async def _summary(
    handoff_id: str, actor: CurrentUser, session: SessionDep, request: Request, regenerate: bool
) -> HandoffSummary:
    await service.readable_handoff(session, actor=actor, handoff_id=handoff_id)
    summary = await service.handoff_summary(
        session,
        tenant=actor,
        handoff_id=handoff_id,
        provider=build_provider(request.app.state.settings),
        now=request.app.state.clock.now(),
        regenerate=regenerate,
    )
    return HandoffSummary.model_validate(summary)


@router.get("/handoffs/{handoff_id}/summary", response_model=HandoffSummary)
async def get_handoff_summary(
    handoff_id: str, actor: CurrentUser, session: SessionDep, request: Request
) -> HandoffSummary:
    """The cached handoff summary (generated on first request)."""
    return await _summary(handoff_id, actor, session, request, regenerate=False)


@router.post("/handoffs/{handoff_id}/summary", response_model=HandoffSummary)
async def regenerate_handoff_summary(
    handoff_id: str, actor: CurrentUser, session: SessionDep, request: Request
) -> HandoffSummary:
    """Regenerate the handoff summary now and cache the new one."""
    return await _summary(handoff_id, actor, session, request, regenerate=True)


@router.get("/handoffs/{handoff_id}/suggested-seniors", response_model=SuggestedSeniors)
async def suggested_seniors(
    handoff_id: str, actor: CurrentUser, session: SessionDep
) -> SuggestedSeniors:
    """The account's seniors who resolved the most similar past sessions."""
    await service.readable_handoff(session, actor=actor, handoff_id=handoff_id)
    items = await service.suggested_seniors(session, tenant=actor, handoff_id=handoff_id)
    return SuggestedSeniors(items=[SuggestedSenior.model_validate(i) for i in items])
