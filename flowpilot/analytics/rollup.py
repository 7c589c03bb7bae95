"""The analytics pre-aggregate (PostgreSQL): settled escalations counted once, per UTC day.

An escalation's timings can still change while it is open or claimed (a release clears the
claim, a hand-over the first action), so only settled ones are rolled up: resolved or
cancelled, and past their claim due time (or withdrawn in time), so whether the claim was due
no longer depends on when a window ends. One statement per batch locks the rows it takes
(``SKIP LOCKED``), marks them (``handoffs.rollup_state``) and adds them to
``handoff_day_counts`` and ``handoff_day_buckets``: a row is in the pre-aggregate exactly when
its mark says so, in every snapshot. A resolved escalation with no first action yet is counted
without one (``NO_FIRST_ACTION``); when its holder acts later, the steps write path marks it
``FIRST_ACTION_SINCE`` and that one duration is rolled the same way.

A window (``window_pg.py``) reads the full days from here and every row not (fully) rolled up
directly, so the answer is the definition's whatever the job has done so far. SQLite does not
pre-aggregate: an embedded database holds pilot-sized windows, read directly.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text

from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.models.handoffs import RollupState

log = logging.getLogger("flowpilot.analytics")

BATCH = 5000
# One roller at a time (two workers would only wait on each other's day rows).
_LOCK = 0x46500001

# The exact durations (numeric seconds), as the direct aggregate computes them.
TTC = "EXTRACT(epoch FROM h.claimed_at - h.created_at)"
TTFA = "EXTRACT(epoch FROM h.first_action_at - COALESCE(h.assigned_at, h.claimed_at))"
# Rows an analytics window must read itself (revision 0009's ``ix_handoffs_unrolled``).
_COUNTED, _NO_FA, _FA_SINCE = (f"{s:d}" for s in RollupState)
UNROLLED = f"(h.rollup_state IS NULL OR h.rollup_state = {_FA_SINCE})"
SETTLED = "h.status IN ('resolved', 'cancelled')"
WITHDRAWN = "(h.status = 'cancelled' AND h.breached_at IS NULL)"

_ROLL = text(
    f"""
WITH picked AS (
  SELECT h.id, h.rollup_state AS was FROM handoffs h
  WHERE {UNROLLED} AND (h.rollup_state = {_FA_SINCE} OR ({SETTLED}
    AND (h.claim_due_at IS NULL OR h.claim_due_at <= :now OR {WITHDRAWN})))
  LIMIT :batch FOR UPDATE SKIP LOCKED
), moved AS (
  UPDATE handoffs h
  SET rollup_state = CASE WHEN h.status = 'resolved' AND h.first_action_at IS NULL
    THEN {_NO_FA} ELSE {_COUNTED} END
  FROM picked WHERE h.id = picked.id
  RETURNING h.id, h.account_id, h.created_at, (h.created_at AT TIME ZONE 'UTC')::date AS day,
    h.urgency,
    picked.was IS NULL AS whole,
    h.claim_due_at IS NOT NULL AND NOT {WITHDRAWN} AS due,
    h.breached_at IS NULL AS met, h.claim_due_at,
    CASE WHEN picked.was IS NULL THEN {TTC} END AS ttc, {TTFA} AS ttfa
), counts AS (
  INSERT INTO handoff_day_counts AS c
    (account_id, day, urgency, due, met, n, max_due_at, ttc_n, ttc_us, ttfa_n, ttfa_us)
  SELECT account_id, day, urgency, due, met, count(*) FILTER (WHERE whole),
    max(claim_due_at) FILTER (WHERE due AND whole), count(ttc),
    coalesce(sum(ttc), 0) * 1000000, count(ttfa), coalesce(sum(ttfa), 0) * 1000000
  FROM moved GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (account_id, day, urgency, due, met) DO UPDATE SET
    n = c.n + excluded.n, max_due_at = greatest(c.max_due_at, excluded.max_due_at),
    ttc_n = c.ttc_n + excluded.ttc_n, ttc_us = c.ttc_us + excluded.ttc_us,
    ttfa_n = c.ttfa_n + excluded.ttfa_n, ttfa_us = c.ttfa_us + excluded.ttfa_us
), durations AS (
  SELECT id, account_id, created_at, day, 0 AS metric, ttc::float8 AS seconds
  FROM moved WHERE ttc IS NOT NULL
  UNION ALL
  SELECT id, account_id, created_at, day, 1, ttfa::float8 FROM moved WHERE ttfa IS NOT NULL
), each AS (
  INSERT INTO handoff_durations (handoff_id, metric, account_id, created_at, bucket, seconds)
  SELECT id, metric, account_id, created_at, fp_duration_bucket(seconds), seconds FROM durations
), buckets AS (
  INSERT INTO handoff_day_buckets AS b (account_id, day, metric, bucket, n)
  SELECT account_id, day, metric, fp_duration_bucket(seconds), count(*) FROM durations
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (account_id, day, metric, bucket) DO UPDATE SET n = b.n + excluded.n
)
SELECT count(*) FROM moved
"""
)


async def roll_once(ctx: Context) -> int:
    """Roll up what has settled, in batches until none is left: how many rows were taken."""
    if ctx.system.engine.dialect.name != "postgresql":
        return 0
    total = 0
    while True:
        started = time.monotonic()  # pacing, not domain time
        async with unit_of_work(ctx.system.sessionmaker) as session:
            lock = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK})
            if not lock.scalar_one():
                return total  # another worker is rolling
            params = {"now": ctx.clock.now(), "batch": BATCH}
            done = int((await session.execute(_ROLL, params)).scalar_one())
        total += done
        if done < BATCH:
            return total
        # A catch-up (after an upgrade: every settled escalation at once) rests as long as each
        # batch took, so it takes at most half of one database core from the requests.
        await asyncio.sleep(min(time.monotonic() - started, 1.0))


async def rollup_job(ctx: Context) -> None:
    """Loop: keep the pre-aggregate up to date (nothing to do on SQLite)."""
    if ctx.system.engine.dialect.name != "postgresql":
        return
    while True:
        try:
            await roll_once(ctx)
        except Exception:
            log.exception("analytics rollup round failed")
        await asyncio.sleep(ctx.settings.analytics_rollup_interval_seconds)
