"""Who is viewing a session: kept per process from bus messages, so every replica agrees.

A session stream announces ``join`` when it opens and ``leave`` when it ends (on the bus, so
every replica's fan-out hears it). A replica that hears another's ``join`` answers with
``here`` for its own viewers of that session, so a replica started later learns them too.
When the set of viewing users of a session changes, its local streams get a ``presence``
item. A replica that dies without saying ``leave`` leaves its viewers listed until the
session's viewers next change on a live replica that restarts (a known limit).
"""

from __future__ import annotations

from typing import Any

from flowpilot.kernel.bus import PRESENCE, BusEvent
from flowpilot.live.topics import Control, Streams, Viewer


def message(op: str, sub: Viewer, node: str) -> BusEvent:
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


def viewers(fanout: Streams, account_id: str, session_id: str) -> list[dict[str, str]]:
    """The users viewing ``session_id`` (each once, by name), as the ``presence`` data lists."""
    table = fanout.presence.get(f"{account_id}/{session_id}", {})
    users = {user_id: name for user_id, name in table.values()}
    return [{"id": i, "name": n} for i, n in sorted(users.items(), key=lambda u: (u[1], u[0]))]


def apply(fanout: Streams, event: BusEvent) -> None:
    """The receiving side of a presence message (every replica, the sender's own included)."""
    data: dict[str, Any] = event.data
    session_id, conn, op = data.get("session_id"), data.get("conn"), data.get("op")
    if not isinstance(session_id, str) or not isinstance(conn, str):
        return
    before = viewers(fanout, event.account_id, session_id)
    key = f"{event.account_id}/{session_id}"
    table = fanout.presence.setdefault(key, {})
    if op in ("join", "here"):
        table[conn] = (str(data.get("user_id", "")), str(data.get("name", "")))
    else:
        table.pop(conn, None)
    if not table:
        del fanout.presence[key]
    local = fanout.of_session(event.account_id, session_id)
    if op == "join" and data.get("node") != fanout.node:
        for sub in local:
            if not sub.closed:
                fanout.publish_soon(message("here", sub, fanout.node))
    after = viewers(fanout, event.account_id, session_id)
    if after != before:
        for sub in local:
            notify(sub, after)
        # The queue shows who is looking at an escalation before anyone claims it.
        for sub in fanout.of_account(event.account_id):
            sub.notify(Control("presence", data={"session_id": session_id, "viewers": after}))


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
