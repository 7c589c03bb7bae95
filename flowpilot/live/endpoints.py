"""HTTP for the live streams (Server-Sent Events): ``GET /api/v1/handoffs/stream`` (the
account's escalation queue) and ``GET /api/v1/sessions/{id}/stream`` (one AI session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from flowpilot.ai_sessions import service as ai_sessions_service
from flowpilot.auth.deps import CurrentUser, SeniorUser
from flowpilot.kernel.deps import SessionDep
from flowpilot.kernel.errors import Invalid
from flowpilot.kernel.identity import Actor
from flowpilot.live.deps import Live, LiveDep
from flowpilot.live.stream import EventStream
from flowpilot.live.topics import StreamScope

router = APIRouter(prefix="/api/v1", tags=["events"])

MAX_EVENT_ID = 2**63 - 1


def _parse_last_event_id(header: str | None, query: int | None) -> int | None:
    # The header wins: the browser sends it on its own reconnects, with the newest id it saw.
    if header is not None and header.strip():
        value = header.strip()
        # isascii: str.isdigit() also accepts digits int() refuses (superscripts, other scripts).
        plain = value.isascii() and value.isdigit() and len(value) <= 19
        if not plain or int(value) > MAX_EVENT_ID:
            raise Invalid("last-event-id", "must be a non-negative integer event id")
        return int(value)
    return query


@router.get(
    "/handoffs/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "event stream"}},
)
async def stream(
    actor: SeniorUser,
    live: LiveDep,
    last_event_id: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID)] = None,
    last_event_id_header: Annotated[str | None, Header(alias="last-event-id")] = None,
) -> EventStream:
    """Live escalation events of the caller's account; replays what a reconnect missed.

    Authentication (cookie or bearer) uses the request's DB session, which is committed and
    closed before this response starts; the stream never holds a database connection.
    """
    return _stream(
        live,
        actor,
        last_event_id_header,
        last_event_id,
        StreamScope(
            user_id=actor.id, name=actor.name, login_id=actor.login_session_id, needs_senior=True
        ),
    )


@router.get(
    "/sessions/{session_id}/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "event stream"}},
)
async def session_stream(
    session_id: str,
    actor: CurrentUser,
    session: SessionDep,
    live: LiveDep,
    last_event_id: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID)] = None,
    last_event_id_header: Annotated[str | None, Header(alias="last-event-id")] = None,
) -> EventStream:
    """One AI session live: its steps, its escalations' transitions, who is viewing it.

    For its owner, its current assignee and the account's engineers and admins (another
    technician: 403; another account: 404). Ends with the caller's login.
    """
    ai_session = await ai_sessions_service.get_session(session, actor=actor, session_id=session_id)
    scope = StreamScope(
        session_id=ai_session.id,
        user_id=actor.id,
        name=actor.name,
        login_id=actor.login_session_id,
        # The owner keeps their session whatever their role; others see it as seniors.
        needs_senior=actor.id != ai_session.owner_id,
    )
    return _stream(live, actor, last_event_id_header, last_event_id, scope)


def _stream(
    live: Live, actor: Actor, header: str | None, query: int | None, scope: StreamScope
) -> EventStream:
    return EventStream(
        bus=live.bus,
        sessionmaker=live.sessionmaker,
        tenant=actor,
        last_event_id=_parse_last_event_id(header, query),
        retry_ms=live.settings.sse_retry_ms,
        max_lifetime_seconds=live.settings.sse_max_lifetime_seconds,
        replay_limit=live.settings.sse_replay_limit,
        gauge=live.open_streams,
        scope=scope,
        login_ends_at=actor.login_expires_at,
    )
