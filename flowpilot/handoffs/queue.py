"""The escalation queue: filters, the three sort orders, the keyset cursor, and their SQL.

How a page stays O(page size) at any number of handoffs per account: the filters split into
*partitions*, each one equality range of an index whose next columns are the sort key, so each
is an ordered index range scan that stops after ``k`` rows. The page is the first ``k`` of the
merged partitions (``UNION ALL`` of the per-partition ``ORDER BY ... LIMIT k``, ordered again).

- ``ix_handoffs_triage`` (account_id, status, triage_rank, created_at, id): a partition per
  status (and per urgency when filtered): "urgency first" reads (triage_rank, created_at, id)
  in order; newest/oldest per fixed urgency read (created_at, id).
- ``ix_handoffs_claimer_triage``: the same under ``claimed_by = me``.
- Without urgency filter or claimer, newest/oldest read (account_id, status, created_at, id) or
  (account_id, created_at, id) directly: the page order is the index order, so the plan needs
  no sort and no statistics.
At most 4 statuses x 4 urgencies = 16 partitions, so a page reads at most 16 x (limit + 1) index
entries.

Search (``q``) is bounded differently: a request examines at most ``SEARCH_SCAN`` handoffs after
the cursor (in the page's order, with the other filters), and returns the matches among them.
When that window ran out before a page filled, ``next_cursor`` continues the search after the
last handoff examined, so a search page may hold fewer items than ``limit`` and still go on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Integer, and_, bindparam, func, literal, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.handoffs import repository as repo
from flowpilot.handoffs.repository import HandoffRow
from flowpilot.handoffs.schemas import HandoffOut
from flowpilot.kernel.db.base import UTCDateTime
from flowpilot.kernel.errors import Forbidden, Invalid
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.tenancy import Tenant, scoped, tenant_column, tenant_params
from flowpilot.models import AiSession, Handoff
from flowpilot.models.handoffs import (
    HANDOFF_STATUSES,
    LIVE_STATUSES,
    TRIAGE_RANK,
    URGENCIES,
    HandoffStatus,
)

QUEUE_FILTERS: dict[str, tuple[str, ...] | None] = {
    "open": ("open",),
    "claimed": ("claimed",),
    "resolved": ("resolved",),
    "cancelled": ("cancelled",),
    "live": LIVE_STATUSES,
    "all": None,
}
SORTS = ("newest", "oldest", "urgency")
SEARCH_SCAN = 1000
MAX_Q = 200

Key = tuple[int, datetime, str]
"""A handoff's place in every order: (triage_rank, created_at, id)."""


@dataclass(frozen=True)
class QueueQuery:
    statuses: tuple[str, ...] | None
    sort: str
    ranks: tuple[int, ...] | None
    claimed_by: str | None
    q: str | None
    limit: int
    after: Key | None


def parse_urgencies(value: str | None) -> tuple[int, ...] | None:
    """``critical,high`` -> their triage ranks; None for no filter; 422 naming ``urgency``."""
    names = [v.strip().lower() for v in (value or "").split(",") if v.strip()]
    if not names:
        return None
    unknown = [n for n in names if n not in URGENCIES]
    if unknown:
        raise Invalid(
            "urgency", f"{unknown[0]!r} is not an urgency; use {', '.join(reversed(URGENCIES))}"
        )
    return tuple(sorted({TRIAGE_RANK[n] for n in names}))


def parse_q(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    if "\x00" in text:
        raise Invalid("q", "must not contain a NUL character")
    if len(text) > MAX_Q:
        raise Invalid("q", f"must be at most {MAX_Q} characters")
    return text or None


def key_of(h: Handoff) -> Key:
    return (h.triage_rank, h.created_at, h.id)


def encode_cursor(sort: str, key: Key) -> str:
    raw = json.dumps({"s": sort, "r": key[0], "t": key[1].isoformat(), "i": key[2]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> Key:
    """The position a cursor names; it must come from the same sort order (422 ``cursor``)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.startswith("{"):
            data = json.loads(raw)
            cursor_sort, rank = str(data["s"]), int(data["r"])
            when, handoff_id = datetime.fromisoformat(data["t"]), str(data["i"])
        else:  # the first version: "created_at|id", newest first only
            created, _, handoff_id = raw.partition("|")
            cursor_sort, rank, when = "newest", 0, datetime.fromisoformat(created)
        if when.tzinfo is None or not handoff_id or cursor_sort not in SORTS:
            raise ValueError(cursor)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error):
        raise Invalid("cursor", "not a cursor returned by this endpoint") from None
    if cursor_sort != sort:
        raise Invalid("cursor", f"was made for sort={cursor_sort}; start again without it")
    return rank, when, handoff_id


def _order(sort: str, cols: Any) -> list[Any]:
    if sort == "newest":
        return [cols.created_at.desc(), cols.id.desc()]
    if sort == "oldest":
        return [cols.created_at.asc(), cols.id.asc()]
    return [cols.triage_rank.asc(), cols.created_at.asc(), cols.id.asc()]


def _after(sort: str, key: Key, rank: int | None) -> Any:
    """Rows after ``key`` in ``sort``, within a partition of fixed ``rank`` (None: any rank).

    False: no row of the partition; None: every row of it.

    Each condition leads with a plain bound on the first sort column so both databases bound
    the index range scan with it; the row comparison then breaks ties.
    """
    key_rank, when, handoff_id = key
    at = literal(when, UTCDateTime())
    pair = tuple_(Handoff.created_at, Handoff.id)
    if sort == "newest":
        return and_(Handoff.created_at <= at, pair < tuple_(at, literal(handoff_id)))
    if sort == "oldest":
        return and_(Handoff.created_at >= at, pair > tuple_(at, literal(handoff_id)))
    if rank is None:
        triple = tuple_(Handoff.triage_rank, Handoff.created_at, Handoff.id)
        return and_(
            Handoff.triage_rank >= key_rank,
            triple > tuple_(literal(key_rank), at, literal(handoff_id)),
        )
    if rank < key_rank:
        return False  # the whole partition comes before the cursor
    if rank > key_rank:
        return None  # the whole partition comes after it
    return and_(Handoff.created_at >= at, pair > tuple_(at, literal(handoff_id)))


def _partitions(query: QueueQuery) -> list[tuple[str | None, int | None]]:
    """(status, triage rank) pairs, None meaning "any"; see the module docstring."""
    claimer = query.claimed_by is not None
    split_status = claimer or query.ranks is not None or query.sort == "urgency"
    statuses: Sequence[str | None] = query.statuses or (
        HANDOFF_STATUSES if split_status else (None,)
    )
    ranks: Sequence[int | None]
    if query.ranks is not None:
        ranks = query.ranks
    elif claimer and query.sort != "urgency":
        ranks = sorted(TRIAGE_RANK.values())
    else:
        ranks = (None,)
    return [(s, r) for s in statuses for r in ranks]


# Statements are scoped and limited by parameters (``_params``), so the first page of a view is
# built once per process: building and keying a page's statement was a fifth of its CPU.
_K = bindparam("p_k", type_=Integer())
_CLAIMED_BY: Any = bindparam("p_claimed_by")


def _params(tenant: Tenant, query: QueueQuery, k: int) -> dict[str, Any]:
    return tenant_params(tenant, p_k=k, p_claimed_by=query.claimed_by)


def _ordered_keys(query: QueueQuery) -> Any | None:
    """The first ``p_k`` (id, triage_rank, created_at) of the filtered queue after the cursor."""
    parts = []
    k = _K
    for status, rank in _partitions(query):
        stmt = select(Handoff.id, Handoff.triage_rank, Handoff.created_at).where(
            tenant_column(Handoff.account_id)
        )
        if status is not None:
            stmt = stmt.where(Handoff.status == status)
        if rank is not None:
            stmt = stmt.where(Handoff.triage_rank == rank)
        if query.claimed_by is not None:
            stmt = stmt.where(Handoff.claimed_by_id == _CLAIMED_BY)
        if query.after is not None:
            condition = _after(query.sort, query.after, rank)
            if condition is False:
                continue
            if condition is not None:
                stmt = stmt.where(condition)
        parts.append(stmt.order_by(*_order(query.sort, Handoff)).limit(k))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0].subquery("page")
    merged = union_all(*(select(p.subquery()) for p in parts)).subquery("merged")
    return select(merged).order_by(*_order(query.sort, merged.c)).limit(k).subquery("page")


def _match(q: str) -> Any:
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        *(
            col.ilike(pattern, escape="\\")
            for col in (AiSession.title, AiSession.customer, AiSession.asset, Handoff.reason)
        )
    )


# What a list shows of a handoff (``HandoffOut``: the page's JSON, the queue screen) and its
# place in every order (``key_of``); nothing else is fetched.
_FIELDS = tuple(HandoffOut.model_fields)
_COLUMNS = (*(f for f in _FIELDS if f not in repo.LIST_DISPLAY), "triage_rank")


def _rows(page: Any, sort: str) -> Any:
    """The display rows of ``page``'s handoffs, in ``sort`` order (at most ``p_k``)."""
    stmt = repo.list_stmt(_COLUMNS).where(tenant_column(Handoff.account_id))
    return stmt.join(page, page.c.id == Handoff.id).order_by(*_order(sort, Handoff)).limit(_K)


def _page(query: QueueQuery) -> Any | None:
    page = _ordered_keys(query)
    return _rows(page, query.sort) if page is not None else None


@lru_cache(maxsize=512)
def _first_page_of(statuses: tuple[str, ...] | None, sort: str, ranks: Any, mine: bool) -> Any:
    query = QueueQuery(statuses, sort, ranks, "me" if mine else None, None, 0, None)
    return _page(query)


def _first_page(query: QueueQuery) -> Any | None:
    """:func:`_page` without a cursor, built once per view (the values are parameters)."""
    return _first_page_of(query.statuses, query.sort, query.ranks, query.claimed_by is not None)


async def fetch(
    session: AsyncSession, tenant: Tenant, query: QueueQuery
) -> tuple[list[HandoffRow], Key | None]:
    """One page of the queue, and the position the next page starts after (None: the end)."""
    if query.q is None:
        stmt = _first_page(query) if query.after is None else _page(query)
        if stmt is None:
            return [], None
        rows = await repo.list_rows(session, stmt, _params(tenant, query, query.limit + 1))
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            return rows, key_of(rows[-1].handoff)
        return rows, None
    scanned = _ordered_keys(query)
    if scanned is None:
        return [], None
    window = (
        select(scanned.c.id, scanned.c.triage_rank, scanned.c.created_at, _match(query.q))
        .join(Handoff, Handoff.id == scanned.c.id)
        .join(AiSession, AiSession.id == Handoff.session_id)
        .order_by(*_order(query.sort, scanned.c))
    )
    examined = (await session.execute(window, _params(tenant, query, SEARCH_SCAN))).all()
    hits = [r[0] for r in examined if r[3]][: query.limit + 1]
    rows = []
    if hits:
        chosen = select(Handoff.id).where(Handoff.id.in_(hits)).subquery("page")
        stmt = _rows(chosen, query.sort)
        rows = await repo.list_rows(session, stmt, _params(tenant, query, query.limit + 1))
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        return rows, key_of(rows[-1].handoff)
    if len(examined) == SEARCH_SCAN:
        last = examined[-1]
        return rows, (last[1], last[2], last[0])
    return rows, None


def _require_senior(actor: Actor) -> None:
    if not actor.is_senior:
        raise Forbidden("only engineers and admins may see the queue of an escalation")


async def queue(
    session: AsyncSession,
    *,
    actor: Actor,
    status: str,
    limit: int,
    cursor: str | None,
    sort: str = "newest",
    urgency: str | None = None,
    claimed_by: str | None = None,
    q: str | None = None,
) -> tuple[list[HandoffRow], str | None]:
    """The account's escalation queue in ``sort`` order: one page and the next page's cursor.

    ``urgency`` is a comma list; ``claimed_by`` is ``"me"``; ``q`` searches the session title,
    customer, asset and the reason.
    """
    _require_senior(actor)
    if status not in QUEUE_FILTERS:
        raise Invalid("status", f"must be one of {', '.join(QUEUE_FILTERS)}")
    if sort not in SORTS:
        raise Invalid("sort", f"must be one of {', '.join(SORTS)}")
    if claimed_by not in (None, "me"):
        raise Invalid("claimed_by", "must be me")
    query = QueueQuery(
        statuses=QUEUE_FILTERS[status],
        sort=sort,
        ranks=parse_urgencies(urgency),
        claimed_by=actor.id if claimed_by == "me" else None,
        q=parse_q(q),
        limit=limit,
        after=decode_cursor(cursor, sort) if cursor else None,
    )
    rows, after = await fetch(session, actor, query)
    return rows, encode_cursor(sort, after) if after else None


@dataclass(frozen=True)
class QueueCounts:
    unclaimed: int
    mine: int


async def counts(session: AsyncSession, *, actor: Actor) -> QueueCounts:
    """How many escalations are open, and how many the caller holds (the queue's tabs)."""
    _require_senior(actor)
    open_n = scoped(select(func.count()), Handoff, actor).where(
        Handoff.status == HandoffStatus.OPEN
    )
    mine_n = scoped(select(func.count()), Handoff, actor).where(
        Handoff.claimed_by_id == actor.id, Handoff.status == HandoffStatus.CLAIMED
    )
    unclaimed = (await session.execute(open_n)).scalar_one()
    mine = (await session.execute(mine_n)).scalar_one()
    return QueueCounts(unclaimed=int(unclaimed), mine=int(mine))


# A page's JSON, written straight from its rows: the fields of ``HandoffOut`` in its order,
# encoded by pydantic's own serializer (same bytes as ``QueuePage.model_dump_json``) without
# building and validating 50 models first (tests/handoffs/test_queue_json.py holds them equal).
_OF_ROW = repo.list_getter(_COLUMNS, _FIELDS)


def page_json(rows: Sequence[HandoffRow], next_cursor: str | None) -> bytes:
    """The ``QueuePage`` answer for ``rows`` (of :func:`repo.list_rows`), encoded."""
    items = [dict(zip(_FIELDS, _OF_ROW(r.handoff), strict=True)) for r in rows]
    return to_json({"items": items, "next_cursor": next_cursor})
