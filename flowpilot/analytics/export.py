"""One row per escalation created in the window, as CSV or JSON, written in batches.

An export is tens of thousands of rows, so no model object is built per row: on PostgreSQL the
database writes each line (``export_pg.py``) and this module joins them; from SQLite's columns
this module writes the same text. Durations are seconds to the millisecond, half a millisecond
up, written as Python's ``repr`` writes the float (``60.501``, ``60.0``). The answer streams in
batches of ``BATCH`` lines once every row is read: the request's unit of work ends before the
response is sent (``SessionDep``), so the rows are read first and only the encoding is
streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics import export_pg
from flowpilot.analytics import repository as repo
from flowpilot.analytics.schemas import ExportFormat, ExportRow
from flowpilot.analytics.service import DECIMALS, check_days
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models.handoffs import HandoffStatus

FIELDS = tuple(ExportRow.model_fields)
BATCH = 2000
_MICRO = timedelta(microseconds=1)


def _iso(value: datetime | None) -> str | None:
    """A time as pydantic writes it: UTC, ``...T12:00:00Z`` (``.250000Z`` with a fraction)."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _micros(later: datetime | None, earlier: datetime | None) -> int | None:
    return None if later is None or earlier is None else (later - earlier) // _MICRO


def _json_str(value: str | None) -> str:
    # The values are ids, enum values and ISO times: nothing a JSON string must escape.
    return "null" if value is None else f'"{value}"'


def _lines_py(rows: Sequence[Any], *, now: datetime, json: bool) -> list[str]:
    """SQLite: the lines ``export_pg`` writes on PostgreSQL."""
    out: list[str] = []
    for h in rows:
        breached = h.breached_at is not None or (
            h.status == HandoffStatus.OPEN and h.claim_due_at is not None and h.claim_due_at <= now
        )
        texts = (
            h.id,
            _iso(h.created_at),
            h.urgency,
            h.status,
            _iso(h.claimed_at),
            h.claimed_by_id,
            _iso(h.first_action_at),
            _iso(h.resolved_at),
        )
        tail = (
            _cell(_micros(h.claimed_at, h.created_at)),
            _cell(_micros(h.first_action_at, h.assigned_at or h.claimed_at)),
            "true" if breached else "false",
        )
        if json:
            values = (*map(_json_str, texts), *(v or "null" for v in tail))
            out.append(_JSON_LINE % (*values, _json_str(_iso(h.assigned_at))))
        else:
            out.append(",".join(v or "" for v in (*texts, *tail, _iso(h.assigned_at))) + "\r\n")
    return out


@dataclass(frozen=True)
class Export:
    """The window's lines (CSV lines or JSON objects), ready to be written as ``format``."""

    format: ExportFormat
    lines: Sequence[str]

    def chunks(self) -> Iterator[str]:
        """The body: CSV with a header row, or ``{"items": [...]}``, ``BATCH`` lines a chunk."""
        json = self.format == "json"
        yield '{"items":[' if json else ",".join(FIELDS) + "\r\n"
        for start in range(0, len(self.lines), BATCH):
            batch = self.lines[start : start + BATCH]
            if json:
                yield ("," if start else "") + ",".join(batch)
            else:
                yield "".join(batch)
        if json:
            yield "]}"

    async def stream(self) -> AsyncIterator[str]:
        """``chunks`` for a ``StreamingResponse``: an async iterator runs on the event loop
        (a plain one would hop to a worker thread per chunk)."""
        for chunk in self.chunks():
            yield chunk


def _cell(micros: int | None) -> str | None:
    """A duration's text: milliseconds, half a millisecond up (``floor``, so also for a
    negative one), written as ``repr`` writes ``ms / 1000``: that decimal exactly below 10^12 s
    (15 significant digits always read back as the same float, so it is the shortest)."""
    return None if micros is None else repr((micros + _UNIT // 2) // _UNIT / 10**DECIMALS)


_UNIT = 10 ** (6 - DECIMALS)  # microseconds per last written digit (1 ms)
# One JSON object per line, the values slotted into the members by position.
_JSON_LINE = "{" + ",".join(f'"{name}":%s' for name in FIELDS) + "}"


async def export(
    session: AsyncSession, *, tenant: Tenant, days: int, now: datetime, format: ExportFormat
) -> Export:
    """One row per escalation created in the last ``days``, oldest first. ``breached``: recorded
    open past its claim target, or still open past it now."""
    check_days(days)
    since = now - timedelta(days=days)
    json = format == "json"
    if repo.is_postgres(session):
        lines = await export_pg.export_lines(
            session, tenant, since=since, until=now, now=now, fields=FIELDS, json=json
        )
    else:
        rows = await repo.export_rows(session, tenant, since=since, until=now)
        lines = _lines_py(rows, now=now, json=json)
    return Export(format, lines)
