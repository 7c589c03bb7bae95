"""What each kind of live stream carries: the queue stream's event types, a session stream's,
and the :class:`StreamScope` a subscription is registered under."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flowpilot.kernel.bus import BusEvent
from flowpilot.live.ticker import Ticker
from flowpilot.models.events import EventType

# Event types the live stream carries; others in the log (e.g. handoff.renotified) are audit-only.
STREAMED_TYPES = frozenset(
    {
        EventType.HANDOFF_CREATED,
        EventType.HANDOFF_CLAIMED,
        EventType.HANDOFF_RELEASED,
        EventType.HANDOFF_RESOLVED,
        EventType.HANDOFF_CANCELLED,
        EventType.HANDOFF_BREACHED,
        EventType.HANDOFF_ASSIGNED,
        EventType.HANDOFF_IDLE_NUDGED,
    }
)
# Audit-only handoff events; every other ``handoff.*`` of a session reaches its session stream
# (so a new transition, e.g. ``handoff.assigned``, needs no change here).
AUDIT_ONLY_TYPES = frozenset({EventType.HANDOFF_RENOTIFIED, EventType.HANDOFF_ADMIN_ALERTED})
# Replayed to a session stream by Last-Event-ID (the log is read by type).
SESSION_REPLAY_TYPES = STREAMED_TYPES | {EventType.STEP_CREATED}


def session_streamed(type_: str) -> bool:
    """Whether a session's stream carries events of this type."""
    if type_ == EventType.STEP_CREATED:
        return True
    return type_.startswith("handoff.") and type_ not in AUDIT_ONLY_TYPES


@dataclass(frozen=True, slots=True)
class StreamScope:
    """Who a subscription streams to and what it streams: the account's queue (no
    ``session_id``) or one session. The login it belongs to ends it (``revocation``);
    ``needs_senior``: a role change away from engineer/admin ends it too. One per open stream,
    so slotted (no ``__dict__``: ~100 bytes less per stream at ten thousand streams)."""

    session_id: str | None = None
    user_id: str = ""
    name: str = ""
    login_id: str | None = None
    needs_senior: bool = True


QUEUE = StreamScope()


@dataclass(frozen=True)
class Control:
    """A non-event item in a subscription's queue: heartbeat, resync, end of life, disconnect."""

    kind: str
    last_id: int = 0
    data: Any = None


HEARTBEAT = Control("heartbeat")
END = Control("end")
DISCONNECT = Control("disconnect")


class Viewer(Protocol):
    """A subscription as presence and revocation see it (``bus.Subscription``)."""

    @property
    def account_id(self) -> str: ...

    @property
    def scope(self) -> StreamScope: ...

    @property
    def closed(self) -> bool: ...

    @property
    def conn(self) -> str: ...

    def notify(self, control: Control) -> None: ...

    def revoke(self, reason: str) -> None: ...


class Streams(Protocol):
    """A process's fan-out as presence and revocation see it (``bus.Fanout``)."""

    @property
    def node(self) -> str: ...

    @property
    def presence(self) -> dict[str, dict[str, tuple[str, str, float]]]: ...

    @property
    def ticker(self) -> Ticker: ...

    def session_streams(self) -> Sequence[Sequence[Viewer]]: ...

    def of_session(self, account_id: str, session_id: str) -> Sequence[Viewer]: ...

    def of_user(self, account_id: str, user_id: str) -> Sequence[Viewer]: ...

    def of_account(self, account_id: str) -> Sequence[Viewer]: ...

    def publish_soon(self, event: BusEvent) -> None: ...

    def revoke_expired(self, now: datetime) -> None: ...
