"""Seeding for ``bench/claims.py``: people through the ORM, handoffs by COPY."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, text

from flowpilot.kernel.db.base import new_id
from flowpilot.kernel.identity import Actor
from flowpilot.models import Account, AiSession, Handoff, User
from flowpilot.models.handoffs import DEFAULT_CLAIM_TARGET_MINUTES, TRIAGE_RANK

URGENCIES = ("low", "normal", "high", "critical")


async def seed_people(maker: Any, n_seniors: int, now: datetime) -> list[Actor]:
    """An account with one technician and ``n_seniors`` engineers/admins (ORM: model defaults)."""
    async with maker() as session:
        account = Account(name=f"bench {new_id()[-6:]}", created_at=now)
        session.add(account)
        await session.flush()
        people = [("technician", "Bench Tech")] + [
            ("engineer" if i % 5 else "admin", f"Senior {i}") for i in range(n_seniors)
        ]
        users = [
            User(
                account_id=account.id,
                email=f"{new_id()}@bench.test",
                name=name,
                role=role,
                active=True,
                password_hash="x",
                created_at=now,
                notify_email=False,
            )
            for role, name in people
        ]
        session.add_all(users)
        await session.commit()
        return [
            Actor(u.id, u.account_id, u.role, u.email, u.name, "bench", "", "bearer") for u in users
        ]


async def _copy(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY ``rows`` into ``table``; columns not given take the model's scalar default or NULL."""
    columns = list(table.columns)
    records = []
    for row in rows:
        record = []
        for col in columns:
            if col.name in row:
                value = row[col.name]
            elif col.default is not None and col.default.is_scalar:
                value = col.default.arg
            else:
                value = None
            if isinstance(col.type, JSON) and value is not None:
                value = json.dumps(value)
            record.append(value)
        records.append(tuple(record))
    raw = (await conn.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(table.name, records=records, columns=[c.name for c in columns])


async def bulk_handoffs(
    engine: Any,
    tech: Actor,
    seniors: list[Actor],
    n: int,
    start: datetime,
    *,
    statuses: tuple[str, ...] | None = None,
) -> list[str]:
    """``n`` sessions with one handoff each, created 1 s apart (batched executemany)."""
    rng = random.Random(7)
    ids: list[str] = []
    batch = 5000
    async with engine.begin() as conn:
        # Generated rows are consistent by construction; skip per-row FK triggers while loading
        # (the benchmark connects as a superuser, as the default URL does).
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for offset in range(0, n, batch):
            sessions, handoffs = [], []
            for i in range(offset, min(n, offset + batch)):
                sid, hid = new_id(), new_id()
                created = start + timedelta(seconds=i)
                if statuses:
                    status = statuses[i % len(statuses)]
                else:
                    status = rng.choices(
                        ("open", "claimed", "resolved", "cancelled"), weights=(15, 10, 65, 10)
                    )[0]
                claimer = rng.choice(seniors).id if status in ("claimed", "resolved") else None
                sessions.append(
                    {
                        "id": sid,
                        "account_id": tech.account_id,
                        "owner_id": tech.id,
                        "assignee_id": claimer or tech.id,
                        "title": f"Case {i}",
                        "problem": "Symptom text",
                        "customer": f"Customer {i % 97}",
                        "environment": {},
                        "status": "open" if status in ("open", "claimed") else "resolved",
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                urgency = URGENCIES[i % 4]
                handoffs.append(
                    {
                        "id": hid,
                        "account_id": tech.account_id,
                        "session_id": sid,
                        "status": status,
                        "reason": f"Reason {i}",
                        "urgency": urgency,
                        "triage_rank": TRIAGE_RANK[urgency],
                        "claim_due_at": created
                        + timedelta(minutes=DEFAULT_CLAIM_TARGET_MINUTES[urgency]),
                        "escalated_by_id": tech.id,
                        "claimed_by_id": claimer,
                        "created_at": created,
                        "claimed_at": created + timedelta(seconds=30) if claimer else None,
                        "updated_at": created,
                    }
                )
                ids.append(hid)
            await _copy(conn, AiSession.__table__, sessions)
            await _copy(conn, Handoff.__table__, handoffs)
    return ids
