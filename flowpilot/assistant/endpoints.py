"""HTTP for the assistant: streamed answers and write-ups, kept answers, summaries, seniors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Receive, Scope, Send

from flowpilot.ai_sessions.schemas import StepOut
from flowpilot.assistant import service
from flowpilot.assistant.deps import ProviderDep
from flowpilot.assistant.provider import AssistantUnavailable, Provider, source_words
from flowpilot.assistant.schemas import (
    AskIn,
    HandoffSummary,
    KeepIn,
    SuggestedSenior,
    SuggestedSeniors,
)
from flowpilot.auth.deps import CurrentUser
from flowpilot.kernel.deps import NowDep, PublisherDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["assistant"])

ERROR_PREFIX = "[assistant error] "
KEEP_PREFIX = "[assistant keep] "
# The longest answer streamed (and so kept), the same bound as a human step's text.
MAX_ANSWER_CHARS = 20_000
STREAM_HEADERS = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}


class AnswerStream(StreamingResponse):
    """A provider's answer as ``text/plain``, started only once the response is being sent.

    By then the request's unit of work has committed (``SessionDep`` ends before the response),
    so no transaction is held while a model thinks. A provider that fails before its first
    chunk still answers 502 with the reason; one that fails later ends the text with an
    ``[assistant error]`` line. With ``sign``, a complete answer ends with an
    ``[assistant keep] <token>`` line: the token that keeps it as a step.
    """

    def __init__(
        self,
        chunks: AsyncIterator[str],
        *,
        sign: Callable[[str], str] | None,
        headers: dict[str, str],
    ) -> None:
        self.chunks = chunks
        self.sign = sign
        self.first = ""
        super().__init__(
            self._body(),
            media_type="text/plain; charset=utf-8",
            headers={**STREAM_HEADERS, **headers},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self.first = await anext(self.chunks)
        except StopAsyncIteration:
            self.first = ""
        except AssistantUnavailable as exc:
            await _close(self.chunks)
            failed = JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
            await failed(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _body(self) -> AsyncIterator[str]:
        shown: list[str] = []
        size = 0
        try:
            async for chunk in _prepend(self.first, self.chunks):
                if size + len(chunk) > MAX_ANSWER_CHARS:
                    # A runaway model must not stream (or have kept) an unbounded answer.
                    cut = chunk[: MAX_ANSWER_CHARS - size]
                    cut += f"\n[answer cut at {MAX_ANSWER_CHARS} characters]\n"
                    shown.append(cut)
                    yield cut
                    break
                size += len(chunk)
                shown.append(chunk)
                yield chunk
        except AssistantUnavailable as exc:
            yield f"\n\n{ERROR_PREFIX}{exc.detail}\n"
            return
        finally:
            await _close(self.chunks)
        answer = "".join(shown).strip()
        if not answer:
            yield f"{ERROR_PREFIX}the assistant returned an empty answer\n"
        elif self.sign is not None:
            yield f"\n{KEEP_PREFIX}{self.sign(answer)}\n"


async def _prepend(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


async def _close(chunks: AsyncIterator[str]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


def _source_headers(generated_by: str, n_similar: int) -> dict[str, str]:
    words = source_words(generated_by, n_similar)
    # Header values are Latin-1: a model name outside it is shown with "?" in its place.
    return {
        "X-Assistant-Source": words.encode("latin-1", "replace").decode("latin-1"),
        "X-Assistant-Similar": str(n_similar),
    }


@router.post("/sessions/{session_id}/assistant", response_class=StreamingResponse)
async def ask_assistant(
    session_id: str,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    provider: ProviderDep,
    body: AskIn | None = None,
) -> StreamingResponse:
    """Stream the assistant's answer as plain text; nothing is saved (keep it to save it)."""
    question = body.question if body else None
    ctx = await service.ask_context(session, actor=actor, session_id=session_id, question=question)
    secret = settings.secret_key

    def sign(answer: str) -> str:
        return service.answer_token(
            secret, account_id=actor.account_id, session_id=session_id, answer=answer
        )

    return AnswerStream(
        provider.ask(ctx, question),
        sign=sign,
        headers=_source_headers(provider.generated_by, len(ctx.similar)),
    )


@router.post("/sessions/{session_id}/assistant/keep", response_model=StepOut, status_code=201)
async def keep_answer(
    session_id: str,
    body: KeepIn,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
    bus: PublisherDep,
) -> StepOut:
    """Add an answer the assistant gave in this session to it, as an ``assistant`` step
    (201; 200 with the same step when that answer was kept already)."""
    step, created = await service.keep_answer(
        session,
        actor=actor,
        session_id=session_id,
        answer=body.answer,
        token=body.token,
        secret=settings.secret_key,
        now=now,
        bus=bus,
    )
    if not created:
        response.status_code = 200
    return StepOut.model_validate(step)


@router.post("/sessions/{session_id}/writeup", response_class=StreamingResponse)
async def session_writeup(
    session_id: str, actor: CurrentUser, session: SessionDep, provider: ProviderDep
) -> StreamingResponse:
    """Stream a customer-ready write-up (problem, cause, fix, steps); nothing is saved."""
    ctx = await service.writeup_context(session, actor=actor, session_id=session_id)
    return AnswerStream(
        provider.writeup(ctx),
        sign=None,
        headers=_source_headers(provider.generated_by, len(ctx.similar)),
    )


async def _end_reads(session: AsyncSession) -> None:
    """End the request's (read-only so far) transaction before waiting on a model.

    A summary is answered as one JSON document after the model's whole answer and then stored,
    so it cannot wait in the response as a stream does. A model may take seconds; on SQLite
    every transaction holds the write lock (BEGIN IMMEDIATE), so holding one across the wait
    would stall every other request. Nothing was written yet, so ending it is a rollback; the
    request's dependency commits the stored summary, in a transaction of its own.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("the assistant's request wrote before waiting on the provider")
    await session.rollback()


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
    """The account's seniors who resolved past sessions that look like this one."""
    await service.readable_handoff(session, actor=actor, handoff_id=handoff_id)
    items = await service.suggested_seniors(session, tenant=actor, handoff_id=handoff_id)
    return SuggestedSeniors(items=[SuggestedSenior.model_validate(i) for i in items])
