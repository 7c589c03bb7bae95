"""Every open stream ends with its login (the receiving side, on every replica).

A login ends by logout, deactivation of the user, a role change, or its expiry. The first
three are announced on the bus after their transaction commits (``kernel.bus.revocation``):
the bus's one reader per process hands the message to :func:`apply` here, in the same order
as the events, so nothing published after the revocation reaches a revoked stream. Expiry
needs no message: each fan-out keeps its streams' login ends in a heap, and :class:`Expiry`
(on the fan-out's ticker, once a second) revokes those whose time is up by the clock.

:func:`apply` is the single place a revocation is received; whatever else must forget a
login on every replica (e.g. a cache of verified callers) belongs there too.
"""

from __future__ import annotations

from flowpilot.auth import service as auth_service
from flowpilot.kernel.bus import BusEvent
from flowpilot.kernel.clock import Clock
from flowpilot.kernel.identity import SENIOR_ROLES
from flowpilot.live.topics import Streams

EXPIRY_CHECK_SECONDS = 1.0


def apply(fanout: Streams, event: BusEvent) -> None:
    """End the local streams a revocation names: one login's, or all of a user's; a role
    change keeps those the new role may still read (a technician's own session)."""
    data = event.data
    login_id = data.get("login_session_id")
    role = data.get("role")
    reason = str(data.get("reason") or "revoked")
    user_id = str(data.get("user_id", ""))
    # The cache of verified callers forgets them first, on this replica as on the one that
    # ended the login (a login's lookup is never answered from memory after its revocation).
    if login_id is not None:
        auth_service.forget_revoked(login_session_id=str(login_id), user_id=None)
    else:
        auth_service.forget_revoked(login_session_id=None, user_id=user_id or None)
    for sub in fanout.of_user(event.account_id, user_id):
        if login_id is not None and sub.scope.login_id != login_id:
            continue
        if role is not None and (role in SENIOR_ROLES or not sub.scope.needs_senior):
            continue
        sub.revoke(reason)


class Expiry:
    """A fan-out periodic: revoke the streams whose login session has expired."""

    name = "login-expiry"
    interval = EXPIRY_CHECK_SECONDS

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def on_start(self) -> None:
        pass

    def on_stop(self) -> None:
        pass

    def run(self, fanout: Streams) -> None:
        fanout.revoke_expired(self.clock.now())
