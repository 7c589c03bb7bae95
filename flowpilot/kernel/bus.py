"""What travels on the event bus, and the publishing side every domain may call (rule 5).

The backends (in-process, Redis Streams) and the subscribing side live in ``flowpilot.live``;
the event log that feeds them is ``flowpilot.events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Bus-only messages (never written to the event log, so their id is 0): who is viewing a
# session, and a login (or a user's logins) that ended, whose open streams must close.
PRESENCE = "live.presence"
LOGIN_REVOKED = "live.revoked"


@dataclass(frozen=True)
class BusEvent:
    """A committed event row, serialised.

    ``relayed`` marks an event published late by the relay (its normal publish was lost), so
    a consumer that already delivered a later id knows it missed it and must resync.
    """

    id: int
    account_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    relayed: bool = False


class Publisher(Protocol):
    """Publishes committed events; called only after their transaction committed."""

    async def publish(self, event: BusEvent) -> None: ...


def revocation(
    *,
    account_id: str,
    user_id: str,
    reason: str,
    login_session_id: str | None = None,
    role: str | None = None,
) -> BusEvent:
    """The bus message that ends open streams: of one login (``login_session_id``) or of all of
    the user's; ``role`` (a role change) keeps the streams that role may still read."""
    return BusEvent(
        id=0,
        account_id=account_id,
        type=LOGIN_REVOKED,
        data={
            "user_id": user_id,
            "login_session_id": login_session_id,
            "reason": reason,
            "role": role,
        },
    )
