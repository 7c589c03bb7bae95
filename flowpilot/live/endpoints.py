"""HTTP for the live stream: ``GET /api/v1/handoffs/stream`` (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from flowpilot.auth.deps import SeniorUser
from flowpilot.kernel.errors import Invalid
from flowpilot.live.deps import LiveDep
from flowpilot.live.stream import EventStream

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
    return EventStream(
        bus=live.bus,
        sessionmaker=live.sessionmaker,
        tenant=actor,
        last_event_id=_parse_last_event_id(last_event_id_header, last_event_id),
        retry_ms=live.settings.sse_retry_ms,
        max_lifetime_seconds=live.settings.sse_max_lifetime_seconds,
        replay_limit=live.settings.sse_replay_limit,
        gauge=live.open_streams,
    )
