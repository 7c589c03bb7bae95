"""All SQL for delivery records, the dispatcher's lease, and the escalation chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.tenancy import Tenant, get_scoped, scoped, select_own_account, select_scoped
from flowpilot.models import Account, Delivery, Event, Handoff, User
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import HandoffStatus
from flowpilot.models.notifications import DeliveryStatus

# Statuses the dispatcher may take: due retries, new rows, and expired leases ("sending").
# Written out literally, exactly as the partial index ``ix_deliveries_due`` says it, so both
# SQLite and PostgreSQL (even with a generic prepared plan) can prove the index applies.
TAKEABLE = text("deliveries.status IN ('pending', 'failed', 'sending')")


async def add_all(session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
    session.add_all(deliveries)
    await session.flush()


async def get_account(session: AsyncSession, tenant: Tenant) -> Account:
    return (await session.execute(select_own_account(Account, tenant))).scalar_one()


async def get_handoff(session: AsyncSession, tenant: Tenant, handoff_id: str) -> Handoff:
    return await get_scoped(session, Handoff, handoff_id, tenant, what="handoff")


async def list_for_handoff(
    session: AsyncSession, tenant: Tenant, handoff_id: str
) -> Sequence[tuple[Delivery, str | None, str]]:
    """A handoff's deliveries (oldest first) with the recipient's name and the event type."""
    stmt = (
        select_scoped(Delivery, tenant)
        .add_columns(User.name, Event.type)
        .outerjoin(User, User.id == Delivery.recipient_id)
        .join(Event, Event.id == Delivery.event_id)
        .where(Delivery.handoff_id == handoff_id)
        .order_by(Delivery.created_at, Delivery.event_id, Delivery.id)
    )
    return [(r[0], r[1], r[2]) for r in (await session.execute(stmt)).all()]


async def take_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease_seconds: float,
    skip_locked: bool,
    channel: str | None = None,
) -> list[str]:
    """Lease up to ``limit`` due deliveries to this worker; returns their ids.

    One indexed query on ``ix_deliveries_due``: a row in ``sending`` keeps its lease expiry in
    ``next_attempt_at``, so a worker that died mid-send makes its rows due again by itself.
    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers take disjoint rows; on SQLite
    the transaction began with ``BEGIN IMMEDIATE`` and writers are serialized anyway.
    """
    stmt = (
        select(Delivery.id)
        .where(TAKEABLE, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    if channel is not None:
        stmt = stmt.where(Delivery.channel == channel)
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list((await session.execute(stmt)).scalars().all())
    if ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(
                status=DeliveryStatus.SENDING,
                locked_at=now,
                attempts=Delivery.attempts + 1,
                next_attempt_at=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    return ids


@dataclass(frozen=True)
class Job:
    """Everything needed to send one leased delivery, read in the leasing transaction."""

    delivery_id: str
    account_id: str
    channel: str
    attempts: int
    event_id: int
    event_type: str
    event_created_at: datetime
    payload: dict[str, Any]
    handoff_id: str
    handoff_status: str
    recipient_id: str | None
    recipient_email: str | None
    recipient_name: str | None
    recipient_active: bool
    webhook_url: str | None
    webhook_secret: str | None
    webhook_enabled: bool
    webhook_previous_secret: str | None = None
    webhook_secret_rotated_at: datetime | None = None
    webhook_format: str = "slack"
    # This recipient's one-time "claim from the email" link, issued with the lease.
    claim_link: str | None = None


async def load_jobs(session: AsyncSession, ids: Sequence[str]) -> list[Job]:
    """The jobs for leased ``ids``: plain columns, no ORM objects (a batch can be 500 rows)."""
    if not ids:
        return []
    stmt = (
        select(
            Delivery.id,
            Delivery.account_id,
            Delivery.channel,
            Delivery.attempts,
            Event.id,
            Event.type,
            Event.created_at,
            Event.payload,
            Delivery.handoff_id,
            Handoff.status,
            Delivery.recipient_id,
            User.email,
            User.name,
            User.active,
            Account.webhook_url,
            Account.webhook_secret,
            Account.webhook_enabled,
            Account.webhook_previous_secret,
            Account.webhook_secret_rotated_at,
            Account.webhook_format,
        )
        .join(Event, Event.id == Delivery.event_id)
        .join(Handoff, Handoff.id == Delivery.handoff_id)
        .join(Account, Account.id == Delivery.account_id)
        .outerjoin(User, User.id == Delivery.recipient_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.next_attempt_at, Delivery.id)
    )
    jobs = []
    for row in (await session.execute(stmt)).all():
        (did, account_id, channel, attempts, eid, etype, created, payload, hid, hstatus) = row[:10]
        rid, email, name, active, url, secret, enabled, previous, rotated, fmt = row[10:]
        jobs.append(
            Job(
                delivery_id=did,
                account_id=account_id,
                channel=channel,
                attempts=attempts,
                event_id=eid,
                event_type=etype,
                event_created_at=created,
                payload=dict(payload or {}),
                handoff_id=hid,
                handoff_status=hstatus,
                recipient_id=rid,
                recipient_email=email,
                recipient_name=name,
                recipient_active=bool(active),
                webhook_url=url,
                webhook_secret=secret,
                webhook_enabled=bool(enabled),
                webhook_previous_secret=previous,
                webhook_secret_rotated_at=rotated,
                webhook_format=fmt or "slack",
            )
        )
    return jobs


async def finish(
    session: AsyncSession,
    *,
    delivery_id: str,
    attempts: int,
    now: datetime,
    status: str,
    last_error: str | None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Record a send's outcome, only if this worker still holds the lease.

    ``attempts`` is the fencing token: a worker whose lease expired and whose row was taken
    again (attempts moved on) must not overwrite the newer outcome. False when fenced off.
    """
    values: dict[str, Any] = {
        "status": status,
        "last_error": last_error,
        "locked_at": None,
        "updated_at": now,
    }
    if status == DeliveryStatus.SENT:
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.attempts == attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Finish:
    delivery_id: str
    attempts: int
    status: str
    last_error: str | None
    next_attempt_at: datetime | None = None


SENT_CHUNK = 500


async def finish_many(
    session: AsyncSession, outcomes: Sequence[Finish], *, now: datetime
) -> set[str]:
    """Record several outcomes (each fenced as in :func:`finish`); returns the recorded ids.

    The ``sent`` rows, nearly all of them, go in one statement per ``SENT_CHUNK``.
    """
    recorded: set[str] = set()
    # Grouped by attempt count (nearly always one group), so the fence is a plain equality
    # next to an ``id IN (...)`` the primary key serves.
    sent_by_attempts: dict[int, list[str]] = {}
    for o in outcomes:
        if o.status == DeliveryStatus.SENT:
            sent_by_attempts.setdefault(o.attempts, []).append(o.delivery_id)
    for attempts, ids in sent_by_attempts.items():
        for start in range(0, len(ids), SENT_CHUNK):
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids[start : start + SENT_CHUNK]),
                    Delivery.status == DeliveryStatus.SENDING,
                    Delivery.attempts == attempts,
                )
                .values(
                    status=DeliveryStatus.SENT,
                    last_error=None,
                    locked_at=None,
                    sent_at=now,
                    updated_at=now,
                )
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            recorded.update(result.scalars().all())
    for o in outcomes:
        if o.status != DeliveryStatus.SENT and await finish(
            session,
            delivery_id=o.delivery_id,
            attempts=o.attempts,
            now=now,
            status=o.status,
            last_error=o.last_error,
            next_attempt_at=o.next_attempt_at,
        ):
            recorded.add(o.delivery_id)
    return recorded


async def release(session: AsyncSession, leases: Sequence[tuple[str, int]], now: datetime) -> None:
    """Hand back leased rows a round did not get to: due now, the attempt not counted."""
    if not leases:
        return
    await session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.SENDING,
            tuple_(Delivery.id, Delivery.attempts).in_(leases),
        )
        .values(
            status=DeliveryStatus.PENDING,
            attempts=Delivery.attempts - 1,
            locked_at=None,
            next_attempt_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class ChainCandidate:
    handoff_id: str
    account_id: str
    created_at: datetime
    renotified_at: datetime | None
    admin_alerted_at: datetime | None
    renotify_after_minutes: int
    admin_alert_after_minutes: int


async def chain_candidates(
    session: AsyncSession, *, now: datetime, limit: int = 200
) -> list[ChainCandidate]:
    """Open handoffs at least a minute old with a chain step still to do (any account).

    The exact per-account deadlines are checked by the caller.
    """
    stmt = (
        select(
            Handoff.id,
            Handoff.account_id,
            Handoff.created_at,
            Handoff.renotified_at,
            Handoff.admin_alerted_at,
            Account.renotify_after_minutes,
            Account.admin_alert_after_minutes,
        )
        .join(Account, Account.id == Handoff.account_id)
        .where(
            Handoff.status == HandoffStatus.OPEN,
            or_(Handoff.renotified_at.is_(None), Handoff.admin_alerted_at.is_(None)),
            Handoff.created_at <= now - timedelta(minutes=1),
        )
        .order_by(Handoff.created_at)
        .limit(limit)
    )
    return [ChainCandidate(*row) for row in (await session.execute(stmt)).all()]


async def mark_chain_step(
    session: AsyncSession, *, handoff_id: str, column: str, now: datetime
) -> bool:
    """Conditionally stamp ``renotified_at``/``admin_alerted_at``: True for the one winner."""
    col = getattr(Handoff, column)
    result = await session.execute(
        update(Handoff)
        .where(and_(Handoff.id == handoff_id, Handoff.status == HandoffStatus.OPEN, col.is_(None)))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get_handoff_any(session: AsyncSession, handoff_id: str) -> Handoff:
    """A handoff by id for a background job that already knows its account."""
    stmt = select(Handoff).where(Handoff.id == handoff_id)
    return (await session.execute(stmt)).scalar_one()


async def creation_event(session: AsyncSession, handoff: Handoff) -> Event | None:
    stmt = (
        scoped(select(Event), Event, handoff)
        .where(
            Event.handoff_id == handoff.id,
            Event.type == EventType.HANDOFF_CREATED,
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
