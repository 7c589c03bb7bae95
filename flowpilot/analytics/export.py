"""One row per escalation created in the window, as CSV or JSON, written in batches.

An export is tens of thousands of rows, so no model object is built per row: PostgreSQL writes
each line's text up to the two durations (timestamps as ``isoformat`` writes them, CSV cells or
JSON values), and Python appends the durations (whole microseconds from the database, turned
into seconds and rounded exactly as ``round_seconds`` does) and ``breached``. SQLite hands the
columns over and this module writes the same text from them. The answer streams in batches of
``BATCH`` lines once every row is read: the request's unit of work ends before the response is
sent (``SessionDep``), so the rows are read first and only the encoding is streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics import repository as repo
from flowpilot.analytics.schemas import ExportFormat, ExportRow
from flowpilot.analytics.service import DECIMALS, check_days
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models.handoffs import HandoffStatus

FIELDS = tuple(ExportRow.model_fields)
# The fields written before the two durations, in order (the database writes these).
TEXT_FIELDS = FIELDS[:8]
BATCH = 2000
_MICRO = timedelta(microseconds=1)

# The text up to the durations, the two durations (whole microseconds), breached, assigned_at.
Line = tuple[str, int | None, int | None, bool, str | None]


def _iso(value: datetime | None) -> str | None:
    """A time as pydantic writes it: UTC, ``...T12:00:00Z`` (``.250000Z`` with a fraction)."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _micros(later: datetime | None, earlier: datetime | None) -> int | None:
    return None if later is None or earlier is None else (later - earlier) // _MICRO


def _json_str(value: str | None) -> str:
    # The values are ids, enum values and ISO times: nothing a JSON string must escape.
    return "null" if value is None else f'"{value}"'


def _lines_py(rows: Sequence[Any], *, now: datetime, json: bool) -> list[Line]:
    """SQLite: the lines ``repository.export_lines_pg`` writes on PostgreSQL."""
    out: list[Line] = []
    for h in rows:
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
        if json:
            head = ",".join(_json_str(v) for v in texts)
        else:
            head = ",".join("" if v is None else v for v in texts)
        breached = h.breached_at is not None or (
            h.status == HandoffStatus.OPEN and h.claim_due_at is not None and h.claim_due_at <= now
        )
        out.append(
            (
                head,
                _micros(h.claimed_at, h.created_at),
                _micros(h.first_action_at, h.assigned_at or h.claimed_at),
                breached,
                _iso(h.assigned_at),
            )
        )
    return out


@dataclass(frozen=True)
class Export:
    """The window's lines, ready to be written as ``format``."""

    format: ExportFormat
    lines: Sequence[Line]

    def chunks(self) -> Iterator[str]:
        """The body: CSV with a header row, or ``{"items": [...]}``, ``BATCH`` lines a chunk."""
        json = self.format == "json"
        yield '{"items":[' if json else ",".join(FIELDS) + "\r\n"
        for start in range(0, len(self.lines), BATCH):
            batch = self.lines[start : start + BATCH]
            if json:
                text = ",".join(_json_line(line) for line in batch)
                yield ("," + text) if start else text
            else:
                yield "".join(_csv_line(line) for line in batch)
        if json:
            yield "]}"

    async def stream(self) -> AsyncIterator[str]:
        """``chunks`` for a ``StreamingResponse``: an async iterator runs on the event loop
        (a plain one would hop to a worker thread per chunk)."""
        for chunk in self.chunks():
            yield chunk


_UNIT = 10 ** (6 - DECIMALS)  # microseconds per last written digit (1 ms)


def _cell(micros: int | None, null: str) -> str:
    # What repr(round(micros / 1e6, DECIMALS)) writes (int / int is correctly rounded, as
    # timedelta.total_seconds() is; repr is how both the csv module and pydantic write a
    # float), in integers: unless micros is half-way between two milliseconds, micros / 1e6 is
    # at least 1 µs from the rounding boundary and its float within far less, so both round to
    # the same millisecond, and ms / 1000 is the float round() returns. Half-way (and negative)
    # values take round() itself, whose answer there depends on the float's binary value.
    if micros is None:
        return null
    ms, rest = divmod(micros, _UNIT)
    if rest == _UNIT // 2 or micros < 0:
        return repr(round(micros / 1_000_000, DECIMALS))
    return repr((ms + (rest > _UNIT // 2)) / 10**DECIMALS)


def _csv_line(line: Line) -> str:
    head, ttc, ttfa, breached, assigned = line
    return (
        f"{head},{_cell(ttc, '')},{_cell(ttfa, '')},{'true' if breached else 'false'},"
        f"{assigned or ''}\r\n"
    )


# One JSON object per line: the head's values (JSON already, comma-separated: none holds a
# comma) and the four after it slot into the members by position.
_JSON_LINE = "{" + ",".join(f'"{name}":%s' for name in FIELDS) + "}"


def _json_line(line: Line) -> str:
    head, ttc, ttfa, breached, assigned = line
    return _JSON_LINE % (
        *head.split(","),
        _cell(ttc, "null"),
        _cell(ttfa, "null"),
        "true" if breached else "false",
        _json_str(assigned),
    )


async def export(
    session: AsyncSession, *, tenant: Tenant, days: int, now: datetime, format: ExportFormat
) -> Export:
    """One row per escalation created in the last ``days``, oldest first. ``breached``: recorded
    open past its claim target, or still open past it now."""
    check_days(days)
    since = now - timedelta(days=days)
    json = format == "json"
    if repo.is_postgres(session):
        lines = await repo.export_lines_pg(
            session, tenant, since=since, until=now, now=now, fields=TEXT_FIELDS, json=json
        )
    else:
        rows = await repo.export_rows(session, tenant, since=since, until=now)
        lines = _lines_py(rows, now=now, json=json)
    return Export(format, lines)
