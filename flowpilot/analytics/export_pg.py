"""PostgreSQL writes the export's lines: one text per escalation, the CSV line or the JSON object.

Python only joins them (``export.py``). Formatting 30 days of lines in Python was a third of
the export's time; the same text costs the database no more than the columns it formatted
before (times through ``fp_iso``, durations as float text). Every value is written exactly as
``export.py`` writes it from SQLite's rows:

- times as ``fp_iso`` (``...T12:00:00Z``, ``.250000Z`` with a fraction), as every API time;
- durations in seconds to the millisecond, half a millisecond up, as the shortest decimal
  that reads back as the same float (``60.501``, ``60.0``): the exact microseconds
  (``repository.micros_pg``), then ``floor((µs + 500) / 1000)`` milliseconds, exact in floats;
- ids and enum values as they are (nothing in them a CSV cell quotes or a JSON string escapes).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics.repository import held_at, micros_pg
from flowpilot.kernel.tenancy import Tenant, scoped
from flowpilot.models import Handoff
from flowpilot.models.handoffs import HandoffStatus


def _seconds(later: Any, earlier: Any) -> Any:
    """The duration's text (NULL when either end is): ``ms / 1000`` as PostgreSQL writes a
    float, with ``.0`` on whole seconds as Python's ``repr`` writes them. Floats throughout
    (numeric arithmetic costs several times more), the constants written into the SQL."""
    ms = func.floor((micros_pg(later, earlier) + _n("500")) / _n("1000"), type_=Float)
    whole = case((cast(ms, BigInteger) % _n("1000") == _n("0"), ".0"), else_="")
    return cast(ms / _n("1000"), Text).op("||")(whole)


def _n(number: str) -> Any:
    return literal_column(number, Float)


def _values(now: datetime) -> list[tuple[Any, bool]]:
    """Each field's text in ``ExportRow`` order, and whether JSON quotes it as a string."""
    h = Handoff
    breached = or_(
        h.breached_at.is_not(None),
        and_(h.status == HandoffStatus.OPEN, h.claim_due_at <= now),
    )
    return [
        (h.id, True),
        (func.fp_iso(h.created_at), True),
        (h.urgency, True),
        (h.status, True),
        (func.fp_iso(h.claimed_at), True),
        (h.claimed_by_id, True),
        (func.fp_iso(h.first_action_at), True),
        (func.fp_iso(h.resolved_at), True),
        (_seconds(h.claimed_at, h.created_at), False),
        (_seconds(h.first_action_at, held_at()), False),
        (case((breached, "true"), else_="false"), False),
        (func.fp_iso(h.assigned_at), True),
    ]


def _line(fields: Sequence[str], values: list[tuple[Any, bool]], *, json: bool) -> Any:
    parts: list[Any] = []
    for i, (name, (value, quoted)) in enumerate(zip(fields, values, strict=True)):
        if not json:
            parts += ["" if i == 0 else ",", value]  # concat() writes NULL as nothing
            continue
        parts.append(("{" if i == 0 else ",") + f'"{name}":')
        text = literal('"').op("||")(value).op("||")('"') if quoted else value
        parts.append(func.coalesce(text, "null"))
    parts.append("}" if json else "\r\n")
    return func.concat(*parts)


async def export_lines(
    session: AsyncSession,
    tenant: Tenant,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    fields: Sequence[str],
    json: bool,
) -> list[str]:
    """Per escalation created in ``(since, until]``, oldest first, its CSV line (``\\r\\n``
    included) or JSON object, members in ``fields`` order."""
    h = Handoff
    stmt: Any = select(_line(fields, _values(now), json=json)).where(
        h.created_at > since, h.created_at <= until
    )
    stmt = scoped(stmt, Handoff, tenant).order_by(h.created_at, h.id)
    # On the session's connection, past the ORM's result layer: a text per row as asyncpg
    # hands it over.
    conn = await session.connection()
    result = await conn.execute(stmt)
    try:
        return [row[0] for row in typing.cast(Sequence[Any], result.cursor.fetchall())]
    finally:
        result.close()
