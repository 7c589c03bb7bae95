"""Pure pieces: next steps from a session's steps, queue cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowpilot.handoffs.context import is_open_question, next_steps
from flowpilot.handoffs.schemas import PersonRef, TriedStep
from flowpilot.kernel.errors import Invalid

T = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def step(kind: str, content: str, n: int = 0) -> TriedStep:
    return TriedStep(
        id=f"s{n}", kind=kind, content=content, author=PersonRef(id="u", name="U"), created_at=T
    )


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        ("note", "Is DHCP handing out leases?", True),
        ("note", "Is DHCP handing out leases?  ", True),
        ("note", "Cause UNKNOWN so far", True),
        ("note", "Root cause unclear", True),
        ("note", "Known issue with firmware 4.2", False),
        ("note", "Customer confirmed the outage", False),
        ("action", "Is this an action?", False),
        ("result", "unknown error 0x1F", False),
    ],
)
def test_open_questions(kind: str, content: str, expected: bool) -> None:
    assert is_open_question(step(kind, content)) is expected


def test_next_steps_takes_the_last_result() -> None:
    tried = [
        step("result", "first", 1),
        step("note", "why?", 2),
        step("result", "second", 3),
        step("action", "did it", 4),
    ]
    nxt = next_steps(tried)
    assert nxt.last_result is not None and nxt.last_result.content == "second"
    assert [q.id for q in nxt.open_questions] == ["s2"]
    assert nxt.suggestions == []


def test_cursor_round_trip_and_garbage() -> None:
    from flowpilot.handoffs import queue

    for sort in queue.SORTS:
        key = (1, T, "abc123")
        assert queue.decode_cursor(queue.encode_cursor(sort, key), sort) == key
    for bad in ("", "!!!", "bm90LWEtY3Vyc29y", "MjAyNi0wMS0wNVQwOTowMDowMA"):
        with pytest.raises(Invalid):
            queue.decode_cursor(bad, "newest")
    # A cursor belongs to its sort order: the keys mean different positions in another.
    with pytest.raises(Invalid, match="sort=urgency"):
        queue.decode_cursor(queue.encode_cursor("urgency", (0, T, "x")), "newest")
