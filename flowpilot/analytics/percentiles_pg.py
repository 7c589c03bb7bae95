"""PostgreSQL: a window's counts, averages and exact percentiles without sorting the window.

``percentile_cont`` sorts every duration in the window, and past a few hundred thousand
escalations the sort is most of the answer's time (and spills to disk past ``work_mem``). The
percentiles only need a few order statistics, so this finds them in two scans that sort nothing
large:

1. one grouped pass: the window's count, each duration's count and average (the same ``avg``
   over the same float seconds as before), and a histogram of each duration over fixed
   logarithmic buckets (``BUCKET``: about 1.6 % wide, so a bucket holds a sliver of the window);
2. the durations, in whole microseconds, of only the buckets that hold the ranks the 50th and
   90th percentiles interpolate between; Python sorts those few and reads the ranks.

The answer is exactly ``percentile_cont``'s: the same order statistics (a bucket's rank offset
is the count of the buckets below it, and ``BUCKET`` never decreases with the duration), the
same float seconds (whole microseconds / 10^6, as ``extract(epoch)::float8`` is) and the same
interpolation (``service.percentile``). Durations that all fall in one bucket make pass 2 read
them all: slower, never wrong.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Select,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.tenancy import Tenant, scoped
from flowpilot.models import Handoff

PERCENTILES = (0.5, 0.9)
# Buckets per e-fold of (1 + microseconds): 64 makes one about 1.6 % of its durations wide.
PER_E_FOLD = 64


@dataclass(frozen=True)
class Measured:
    """Count, average, and the percentiles (``PERCENTILES`` order) of one duration."""

    n: int
    avg: float | None
    percentiles: tuple[float | None, ...]


def _micros(later: Any, earlier: Any) -> Any:
    # date_part's float seconds are within a few ulps of the exact value: rounding them to
    # whole microseconds is exact for any duration under a century (and cheaper than EXTRACT's
    # numeric).
    return cast(func.round(func.date_part("epoch", later - earlier) * 1_000_000), BigInteger)


def _bucket(micros: Any) -> Any:
    return cast(func.floor(func.ln(1 + func.greatest(micros, 0)) * PER_E_FOLD), Integer)


def _durations(tenant: Tenant, since: datetime, until: datetime) -> Any:
    """The window with each escalation's durations (microseconds and their buckets)."""
    ttc = _micros(Handoff.claimed_at, Handoff.created_at)
    ttfa = _micros(Handoff.first_action_at, func.coalesce(Handoff.assigned_at, Handoff.claimed_at))
    stmt = select(
        ttc.label("ttc"),
        ttfa.label("ttfa"),
        _bucket(ttc).label("b_ttc"),
        _bucket(ttfa).label("b_ttfa"),
    ).where(Handoff.created_at > since, Handoff.created_at <= until)
    return scoped(stmt, Handoff, tenant).subquery("d")


def histogram_statement(tenant: Tenant, *, since: datetime, until: datetime) -> Select[Any]:
    """Pass 1: rows grouped by (ttc bucket) and by (ttfa bucket), and one row for the window."""
    d = _durations(tenant, since, until)
    seconds = [cast(c, Float) / 1_000_000 for c in (d.c.ttc, d.c.ttfa)]
    return select(
        func.grouping(d.c.b_ttc, d.c.b_ttfa).label("g"),
        d.c.b_ttc,
        d.c.b_ttfa,
        func.count(),
        func.count(d.c.ttc),
        func.avg(seconds[0]),
        func.count(d.c.ttfa),
        func.avg(seconds[1]),
    ).group_by(literal_column("GROUPING SETS ((b_ttc), (b_ttfa), ())"))


def _ranks(n: int) -> list[int]:
    """The 0-based ranks ``service.percentile`` reads for ``PERCENTILES`` among ``n`` values."""
    out = []
    for p in PERCENTILES:
        pos = (n - 1) * p
        out += [math.floor(pos), math.ceil(pos)]
    return out


def _locate(hist: list[tuple[int, int]], ranks: list[int]) -> dict[int, int]:
    """``bucket -> count of values in lower buckets`` for the buckets holding ``ranks``."""
    found: dict[int, int] = {}
    below = 0
    for bucket, count in hist:
        if any(below <= r < below + count for r in ranks):
            found[bucket] = below
        below += count
    return found


def _percentile(values: dict[int, tuple[int, list[int]]], n: int, p: float) -> float:
    pos = (n - 1) * p
    lo, hi = math.floor(pos), math.ceil(pos)

    def at(rank: int) -> float:
        for below, ordered in values.values():
            if below <= rank < below + len(ordered):
                return ordered[rank - below] / 1_000_000
        raise LookupError(rank)

    a, b = at(lo), at(hi)
    return a + (b - a) * (pos - lo)


async def measure(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> tuple[int, Measured, Measured]:
    """``(n_escalated, time to claim, time to first action)`` of the window."""
    # JIT would compile these plans once a long window's cost estimate crosses jit_above_cost,
    # which takes longer than the scans themselves.
    await session.execute(text("SET LOCAL jit = off"))
    rows = (await session.execute(histogram_statement(tenant, since=since, until=until))).all()
    n_escalated = 0
    totals: list[tuple[int, float | None]] = [(0, None), (0, None)]
    hists: list[list[tuple[int, int]]] = [[], []]
    for g, b_ttc, b_ttfa, n, n_ttc, avg_ttc, n_ttfa, avg_ttfa in rows:
        if g == 3:  # the () set: the whole window
            n_escalated = int(n)
            totals = [(int(n_ttc), _f(avg_ttc)), (int(n_ttfa), _f(avg_ttfa))]
        elif g == 1 and b_ttc is not None:  # grouped by b_ttc
            hists[0].append((int(b_ttc), int(n_ttc)))
        elif g == 2 and b_ttfa is not None:
            hists[1].append((int(b_ttfa), int(n_ttfa)))
    wanted = [_locate(sorted(h), _ranks(totals[i][0])) for i, h in enumerate(hists)]
    found: list[dict[int, tuple[int, list[int]]]] = [{}, {}]
    if any(wanted):
        d = _durations(tenant, since, until)
        stmt = select(d.c.b_ttc, d.c.ttc, d.c.b_ttfa, d.c.ttfa).where(
            or_(d.c.b_ttc.in_(list(wanted[0]) or [-1]), d.c.b_ttfa.in_(list(wanted[1]) or [-1]))
        )
        picked: list[dict[int, list[int]]] = [defaultdict(list), defaultdict(list)]
        for b_ttc, ttc, b_ttfa, ttfa in (await session.execute(stmt)).all():
            if b_ttc in wanted[0]:
                picked[0][b_ttc].append(int(ttc))
            if b_ttfa in wanted[1]:
                picked[1][b_ttfa].append(int(ttfa))
        for i in (0, 1):
            found[i] = {b: (wanted[i][b], sorted(v)) for b, v in picked[i].items()}
    out = []
    for i in (0, 1):
        n, avg = totals[i]
        pcts = tuple(_percentile(found[i], n, p) if n else None for p in PERCENTILES)
        out.append(Measured(n, avg, pcts))
    return n_escalated, out[0], out[1]


def _f(value: Any) -> float | None:
    return None if value is None else float(value)
