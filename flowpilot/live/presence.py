"""Who is viewing a session: kept per process from bus messages, so every replica agrees.

A session stream announces ``join`` when it opens and ``leave`` when it ends (on the bus, so
every replica's fan-out hears it). A replica that hears another's ``join`` answers with one
``here`` for its own viewers of that session, so a replica started later learns them too.

Entries expire: every :data:`REFRESH_SECONDS` each replica says ``here`` once per session it
has viewers of (one message per session viewed, whatever the number of streams), and an entry
not heard of for :data:`EXPIRES_AFTER_SECONDS` is dropped. So the viewers of a replica that
died without saying ``leave`` (killed, lost its network) disappear after at most that long.
Times are the receiving fan-out's ticker (tests move it), never a sender's clock.

When the set of viewing users of a session changes, its local streams get a ``presence``
item, and so do the account's queue streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowpilot.kernel.bus import PRESENCE, BusEvent
from flowpilot.live.topics import Control, Streams, Viewer

REFRESH_SECONDS = 10.0
# Three refreshes missed: one late or lost message never hides a viewer who is still there.
EXPIRES_AFTER_SECONDS = 3 * REFRESH_SECONDS


def message(op: str, sub: Viewer, node: str) -> BusEvent:
    """``join`` or ``leave`` of one stream."""
    scope = sub.scope
    return BusEvent(
        id=0,
        account_id=sub.account_id,
        type=PRESENCE,
        data={
            "op": op,
            "session_id": scope.session_id,
            "conn": sub.conn,
            "node": node,
            "user_id": scope.user_id,
            "name": scope.name,
        },
    )


def here(subs: Sequence[Viewer], node: str) -> BusEvent | None:
    """One ``here`` for this replica's open streams of one session (``None``: none open)."""
    open_ = [sub for sub in subs if not sub.closed]
    if not open_:
        return None
    first = open_[0]
    return BusEvent(
        id=0,
        account_id=first.account_id,
        type=PRESENCE,
        data={
            "op": "here",
            "session_id": first.scope.session_id,
            "node": node,
            "viewers": [[sub.conn, sub.scope.user_id, sub.scope.name] for sub in open_],
        },
    )


def viewers(fanout: Streams, account_id: str, session_id: str) -> list[dict[str, str]]:
    """The users viewing ``session_id`` (each once, by name), as the ``presence`` data lists."""
    table = fanout.presence.get(f"{account_id}/{session_id}", {})
    users = {user_id: name for user_id, name, _seen in table.values()}
    return [{"id": i, "name": n} for i, n in sorted(users.items(), key=lambda u: (u[1], u[0]))]


def _entries(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    listed = data.get("viewers")
    if isinstance(listed, list):
        return [
            (str(e[0]), str(e[1]), str(e[2]))
            for e in listed
            if isinstance(e, list) and len(e) == 3 and isinstance(e[0], str)
        ]
    conn = data.get("conn")  # a join, or a one-stream ``here``
    if not isinstance(conn, str):
        return []
    return [(conn, str(data.get("user_id", "")), str(data.get("name", "")))]


def apply(fanout: Streams, event: BusEvent) -> None:
    """The receiving side of a presence message (every replica, the sender's own included)."""
    data: dict[str, Any] = event.data
    session_id, op = data.get("session_id"), data.get("op")
    if not isinstance(session_id, str):
        return
    entries = _entries(data)
    if op == "here" and data.get("node") == fanout.node:
        entries = _still_open(fanout, event.account_id, session_id, entries)
    if not entries:
        return
    before = viewers(fanout, event.account_id, session_id)
    key = f"{event.account_id}/{session_id}"
    table = fanout.presence.setdefault(key, {})
    if op in ("join", "here"):
        seen = fanout.ticker.now()
        for conn, user_id, name in entries:
            table[conn] = (user_id, name, seen)
    else:
        for conn, _user_id, _name in entries:
            table.pop(conn, None)
    if not table:
        del fanout.presence[key]
    if op == "join" and data.get("node") != fanout.node:
        reply = here(fanout.of_session(event.account_id, session_id), fanout.node)
        if reply is not None:
            fanout.publish_soon(reply)
    _changed(fanout, event.account_id, session_id, before)


def _still_open(
    fanout: Streams, account_id: str, session_id: str, entries: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """This replica's own ``here``, heard back: a stream that closed after it was sent must not
    come back (its ``leave`` may have reached the bus first), so say ``leave`` again, after it."""
    open_ = {sub.conn for sub in fanout.of_session(account_id, session_id) if not sub.closed}
    gone = [entry for entry in entries if entry[0] not in open_]
    if gone:
        data: dict[str, Any] = {"op": "leave", "session_id": session_id, "node": fanout.node}
        data["viewers"] = [list(entry) for entry in gone]
        fanout.publish_soon(BusEvent(id=0, account_id=account_id, type=PRESENCE, data=data))
    return [entry for entry in entries if entry[0] in open_]


def _changed(fanout: Streams, account_id: str, session_id: str, before: list[Any]) -> None:
    after = viewers(fanout, account_id, session_id)
    if after == before:
        return
    for sub in fanout.of_session(account_id, session_id):
        notify(sub, after)
    # The queue shows who is looking at an escalation before anyone claims it.
    for sub in fanout.of_account(account_id):
        sub.notify(Control("presence", data={"session_id": session_id, "viewers": after}))


def expire(fanout: Streams, now: float) -> None:
    """Drop entries not heard of for :data:`EXPIRES_AFTER_SECONDS` (a replica that vanished)."""
    oldest = now - EXPIRES_AFTER_SECONDS
    for key in list(fanout.presence):
        table = fanout.presence[key]
        stale = [conn for conn, (_u, _n, seen) in table.items() if seen < oldest]
        if not stale:
            continue
        account_id, _, session_id = key.partition("/")
        before = viewers(fanout, account_id, session_id)
        for conn in stale:
            del table[conn]
        if not table:
            del fanout.presence[key]
        _changed(fanout, account_id, session_id, before)


class Refresh:
    """A fan-out periodic: say ``here`` for each session viewed on this replica; expire what
    other replicas (or this one's lost messages) stopped refreshing."""

    name = "presence-refresh"
    interval = REFRESH_SECONDS

    def on_start(self) -> None:
        pass

    def on_stop(self) -> None:
        pass

    def run(self, fanout: Streams) -> None:
        expire(fanout, fanout.ticker.now())
        for subs in fanout.session_streams():
            message_ = here(subs, fanout.node)
            if message_ is not None:
                fanout.publish_soon(message_)


def catch_up(fanout: Streams, sub: Viewer) -> None:
    """A new queue stream: who is viewing each of the account's sessions right now."""
    prefix = f"{sub.account_id}/"
    for key in list(fanout.presence):
        if key.startswith(prefix):
            session_id = key.removeprefix(prefix)
            current = viewers(fanout, sub.account_id, session_id)
            sub.notify(Control("presence", data={"session_id": session_id, "viewers": current}))


def notify(sub: Viewer, current: list[dict[str, str]]) -> None:
    sub.notify(Control("presence", data={"viewers": current}))
