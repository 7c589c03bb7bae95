"""An escalations window on PostgreSQL from the pre-aggregate (``rollup.py``), exactly.

The window ``(since, until]`` splits into the whole UTC days inside it and the two partial
days at its ends. One statement (one snapshot, so a row the job rolls meanwhile is counted
once) adds up:

- the whole days' rows of ``handoff_day_counts`` / ``handoff_day_buckets``;
- every escalation of the partial days, and every one of the whole days not (fully) rolled up
  (``rollup.UNROLLED``: not settled yet, or resolved with a first action made since), read
  from the rows;

then, for each percentile's rank, finds the 2 % bucket holding it from the counts and reads the
order statistics themselves from that bucket on, in (bucket, value) order: the whole days'
rolled-up durations through the index of ``handoff_durations`` (a few thousand entries at
most), merged with those of the rows read directly. Only plain columns are compared there, so
row-level security does not stop the index from being used. The values are ``percentile_cont``'s
inputs and the interpolation is its formula, so the answer is the direct aggregate's; averages
are exact microsecond sums.

``measure`` returns None when the window holds no whole day, or when a rolled-up day counted a
claim that falls due after ``until`` (a window that ends before the job ran): the caller then
aggregates the rows directly.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics.repository import PERCENTILES, Aggregate
from flowpilot.analytics.rollup import TTC, TTFA, UNROLLED, WITHDRAWN
from flowpilot.kernel.tenancy import TENANT_PARAM, Tenant, tenant_params

A = f":{TENANT_PARAM}"

# Each pick's two order statistics from rank ``k`` of its bucket on, in (bucket, value) order:
# the rolled-up durations of the whole days (``handoff_durations``, an index range of at most
# k + 2 entries) merged with the durations of the rows read directly.
_RANK_READ = f"""
SELECT 'p', NULL, NULL::bool, NULL::bool, NULL::bigint, NULL::timestamptz, NULL::bigint,
  NULL::numeric, NULL::bigint, NULL::numeric, p.metric, p.p, v.vals
FROM picks p CROSS JOIN LATERAL (
  SELECT array_agg(u.seconds ORDER BY u.bucket, u.seconds) AS vals FROM (
    SELECT bucket, seconds FROM (
      (SELECT hd.bucket, hd.seconds FROM handoff_durations hd
       WHERE hd.account_id = {A} AND hd.metric = p.metric AND hd.bucket >= p.bucket
         AND hd.created_at >= :full_from AND hd.created_at < :full_to
       ORDER BY hd.bucket, hd.seconds LIMIT p.k + 2)
      UNION ALL
      SELECT rv.bucket, rv.seconds FROM rv WHERE rv.metric = p.metric AND rv.bucket >= p.bucket
    ) m ORDER BY bucket, seconds OFFSET p.k LIMIT 2
  ) u
) v"""


_COLUMNS = (
    "h.urgency, h.status, h.breached_at, h.claim_due_at, h.created_at, h.claimed_at, "
    "h.first_action_at, h.assigned_at"
)
_WINDOW = text(
    f"""
WITH d AS (
  SELECT h.whole, h.urgency,
    h.whole AND h.claim_due_at <= :until AND NOT {WITHDRAWN} AS due,
    h.breached_at IS NULL AND h.status <> 'open' AS met,
    CASE WHEN h.whole THEN {TTC} END AS ttc, {TTFA} AS ttfa
  FROM (
    SELECT true AS whole, {_COLUMNS} FROM handoffs h WHERE h.account_id = {A}
      AND ((h.created_at > :since AND h.created_at < :full_from)
        OR (h.created_at >= :full_to AND h.created_at <= :until))
    UNION ALL
    SELECT h.rollup_state IS NULL, {_COLUMNS} FROM handoffs h WHERE h.account_id = {A}
      AND h.created_at >= :full_from AND h.created_at < :full_to AND {UNROLLED}
  ) h
), b AS (
  SELECT d.*, fp_duration_bucket(ttc::float8) AS tb, fp_duration_bucket(ttfa::float8) AS fb
  FROM d
), rv AS (
  SELECT 0 AS metric, tb AS bucket, ttc::float8 AS seconds FROM b WHERE ttc IS NOT NULL
  UNION ALL
  SELECT 1, fb, ttfa::float8 FROM b WHERE ttfa IS NOT NULL
), g AS (
  -- One pass over the rows read: the claim-target groups (kind 3) and the buckets of time to
  -- claim (kind 1) and of time to first action (kind 2).
  SELECT urgency, due, met, tb, fb, GROUPING(tb, fb) AS kind,
    count(*) FILTER (WHERE whole) AS n, count(ttc) AS ttc_n, coalesce(sum(ttc), 0) * 1000000
    AS ttc_us, count(ttfa) AS ttfa_n, coalesce(sum(ttfa), 0) * 1000000 AS ttfa_us
  FROM b GROUP BY GROUPING SETS ((urgency, due, met), (tb), (fb))
), counts AS (
  SELECT urgency, due, met, n, NULL::timestamptz AS max_due_at, ttc_n, ttc_us, ttfa_n, ttfa_us
  FROM g WHERE kind = 3
  UNION ALL
  SELECT urgency, due, met, n, max_due_at, ttc_n, ttc_us, ttfa_n, ttfa_us
  FROM handoff_day_counts WHERE account_id = {A} AND day >= :day_from AND day < :day_to
), hist AS (
  SELECT metric, bucket, sum(n) AS n FROM (
    SELECT 0 AS metric, tb AS bucket, ttc_n AS n FROM g WHERE kind = 1 AND tb IS NOT NULL
    UNION ALL
    SELECT 1, fb, ttfa_n FROM g WHERE kind = 2 AND fb IS NOT NULL
    UNION ALL
    SELECT metric, bucket, n FROM handoff_day_buckets
    WHERE account_id = {A} AND day >= :day_from AND day < :day_to
  ) x GROUP BY 1, 2
), cum AS (
  SELECT metric, bucket, n, sum(n) OVER (PARTITION BY metric ORDER BY bucket) - n AS below,
    sum(n) OVER (PARTITION BY metric) AS total
  FROM hist
), picks AS (
  SELECT c.metric, p.p, c.bucket, (floor((c.total - 1) * p.p) - c.below)::bigint AS k
  FROM cum c CROSS JOIN (VALUES {", ".join(f"({p}::float8)" for p in PERCENTILES)}) p(p)
  WHERE c.below <= floor((c.total - 1) * p.p) AND floor((c.total - 1) * p.p) < c.below + c.n
)
SELECT 'c', urgency, due, met, n, max_due_at, ttc_n, ttc_us, ttfa_n, ttfa_us,
  NULL::smallint, NULL::float8, NULL::float8[]
FROM counts
UNION ALL {_RANK_READ}
"""
)


@dataclass(frozen=True)
class Measured:
    """A window's escalation count, both durations and claim-target counts by urgency."""

    n_escalated: int
    ttc: Aggregate
    ttfa: Aggregate
    # urgency -> (n_due, n_met)
    targets: dict[str, tuple[int, int]]


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _interpolate(values: list[float], n: int, p: float) -> float:
    # percentile_cont: first + (second - first) * (p * (n - 1) - floor(p * (n - 1)))
    pos = p * (n - 1)
    frac = pos - math.floor(pos)
    if frac == 0 or len(values) < 2:
        return values[0]
    return values[0] + (values[1] - values[0]) * frac


async def measure(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> Measured | None:
    full_from = _midnight(since) + timedelta(days=1)
    full_to = _midnight(until)
    if full_from >= full_to:
        return None
    params = tenant_params(
        tenant,
        since=since,
        until=until,
        full_from=full_from,
        full_to=full_to,
        day_from=full_from.date(),
        day_to=full_to.date(),
    )
    # No JIT (it compiles longer than this runs), and a plan for these very parameters: a
    # generic plan, which the plan cache switches to after five executions, cannot know how few
    # rows the partial days and the rows not rolled up are.
    for setting in ("jit = off", "plan_cache_mode = force_custom_plan"):
        await session.execute(text(f"SET LOCAL {setting}"))
    rows = (await session.execute(_WINDOW, params)).all()
    n_escalated = 0
    sums: list[list[Any]] = [[0, 0], [0, 0]]  # per duration: count, microseconds
    targets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    picks: dict[tuple[int, float], list[float]] = {}
    for r in rows:
        if r[0] == "p":
            picks[(int(r[10]), float(r[11]))] = [float(v) for v in r[12] or ()]
            continue
        _, urgency, due, met, n, max_due_at, ttc_n, ttc_us, ttfa_n, ttfa_us = r[:10]
        if max_due_at is not None and max_due_at > until:
            return None
        n_escalated += int(n)
        for i, (count, micros) in enumerate(((ttc_n, ttc_us), (ttfa_n, ttfa_us))):
            sums[i][0] += int(count)
            sums[i][1] += micros
        if due:
            targets[urgency][0] += int(n)
            targets[urgency][1] += int(n) if met else 0
    aggregates = []
    for metric, (count, micros) in enumerate(sums):
        values = [
            _interpolate(picks[(metric, p)], count, p) if (metric, p) in picks else None
            for p in PERCENTILES
        ]
        avg = float(Decimal(micros) / count / 1_000_000) if count else None
        aggregates.append(Aggregate(count, avg, *values))
    return Measured(
        n_escalated, aggregates[0], aggregates[1], {u: (t[0], t[1]) for u, t in targets.items()}
    )
