"""Nothing lost, nothing phantom: publish after commit, mark, relay what a crash left behind."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import marks
from flowpilot.events import repository as events_repo
from flowpilot.events import service as events_service
from flowpilot.events.relay import relay_once
from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import Event
from tests.events.helpers import Tenant, emit, next_event
from tests.factories import Factory
from tests.live.helpers import MakeBus


async def _published_at(db: async_sessionmaker[AsyncSession], event_id: int):  # type: ignore[no-untyped-def]
    async with db() as session:
        return (
            await session.execute(select(Event.published_at).where(Event.id == event_id))
        ).scalar_one()


async def test_commit_publishes_then_marks_published(
    make_bus: MakeBus, db: async_sessionmaker[AsyncSession], factory: Factory, clock: FrozenClock
) -> None:
    account = await factory.account()
    bus = await make_bus()
    sub = await bus.subscribe(account.id)
    event = await emit(db, account_id=account.id, bus=bus, now=clock.now())
    got = await next_event(sub)
    assert got.id == event.id
    await marks.flush(db.kw["bind"])  # the mark is batched (events.marks)
    assert await _published_at(db, event.id) is not None


async def test_marks_are_batched_and_a_crash_before_the_batch_is_relayed(
    db: async_sessionmaker[AsyncSession], factory: Factory, clock: FrozenClock, app: FastAPI
) -> None:
    """Published at once; marked later in one batch; unmarked rows are the relay's to redo."""
    ctx = app.state.ctx
    account = await factory.account()
    sub = await ctx.bus.subscribe(account.id)
    marker = marks.marker(db.kw["bind"])
    marker.linger = 3600.0  # the batch is not written until flushed: a "crash" window
    try:
        ids = [
            (await emit(db, account_id=account.id, bus=ctx.bus, now=clock.now())).id
            for _ in range(3)
        ]
        assert [(await next_event(sub)).id for _ in range(3)] == ids
        assert [await _published_at(db, i) for i in ids] == [None, None, None]
        # Had the process died now, the relay would publish them again (flagged relayed).
        clock.advance(seconds=ctx.settings.relay_grace_seconds + 1)
        async with db() as session:
            pending = await events_repo.unpublished(session, before=clock.now(), limit=10)
        assert [e.id for e in pending] == ids
        await marker.flush()
        assert all([await _published_at(db, i) is not None for i in ids])
        assert await relay_once(ctx) == 0
    finally:
        marker.linger = marks.LINGER_SECONDS


async def test_rolled_back_transaction_publishes_nothing(
    make_bus: MakeBus, db: async_sessionmaker[AsyncSession], factory: Factory, clock: FrozenClock
) -> None:
    account = await factory.account()
    bus = await make_bus()
    sub = await bus.subscribe(account.id)
    async with db() as session:
        await events_service.append(
            session,
            tenant=Tenant(account.id),
            type="handoff.created",
            payload={"id": "phantom"},
            now=clock.now(),
            bus=bus,
        )
        await session.rollback()
        session.info.pop("after_commit", None)  # what the request dependency does on error
    # A committed event afterwards is the first thing the subscriber sees.
    later = await emit(db, account_id=account.id, bus=bus, now=clock.now())
    first = await next_event(sub)
    assert first.id == later.id and first.data != {"id": "phantom"}
    async with db() as session:
        rows = (await session.execute(select(Event))).scalars().all()
    assert [r.id for r in rows] == [later.id]


async def test_relay_recovers_an_event_committed_but_never_published(
    make_bus: MakeBus,
    db: async_sessionmaker[AsyncSession],
    factory: Factory,
    clock: FrozenClock,
    app: FastAPI,
) -> None:
    """Simulated crash: the row commits, the after-commit publish never runs."""
    account = await factory.account()
    ctx = app.state.ctx
    sub = await ctx.bus.subscribe(account.id)
    lost = await emit(db, account_id=account.id, bus=None, now=clock.now())
    assert await _published_at(db, lost.id) is None

    # Young events are left to the normal path (grace period).
    assert await relay_once(ctx) == 0
    assert sub.qsize() == 0

    clock.advance(seconds=ctx.settings.relay_grace_seconds + 1)
    assert await relay_once(ctx) == 1
    got = await next_event(sub)
    assert got.id == lost.id and got.relayed
    assert await _published_at(db, lost.id) is not None
    assert await relay_once(ctx) == 0  # marked: not published again


async def test_relay_publishes_in_id_order_across_accounts(
    db: async_sessionmaker[AsyncSession], factory: Factory, clock: FrozenClock, app: FastAPI
) -> None:
    ctx = app.state.ctx
    a, b = await factory.account(), await factory.account()
    sub_a = await ctx.bus.subscribe(a.id)
    sub_b = await ctx.bus.subscribe(b.id)
    ids_a = [(await emit(db, account_id=a.id, bus=None, now=clock.now())).id for _ in range(3)]
    id_b = (await emit(db, account_id=b.id, bus=None, now=clock.now())).id
    clock.advance(seconds=60)
    assert await relay_once(ctx) == 4
    assert [(await next_event(sub_a)).id for _ in range(3)] == ids_a
    assert (await next_event(sub_b)).id == id_b
    assert sub_a.qsize() == 0 and sub_b.qsize() == 0


async def test_a_failed_publish_leaves_the_event_for_the_relay(
    db: async_sessionmaker[AsyncSession], factory: Factory, clock: FrozenClock, app: FastAPI
) -> None:
    class DownBus:
        async def publish(self, event: object) -> None:
            raise ConnectionError("bus down")

    account = await factory.account()
    event = await emit(db, account_id=account.id, bus=DownBus(), now=clock.now())  # type: ignore[arg-type]
    assert await _published_at(db, event.id) is None  # commit succeeded, nothing raised
    ctx = app.state.ctx
    sub = await ctx.bus.subscribe(account.id)
    clock.advance(seconds=timedelta(minutes=1).total_seconds())
    assert await relay_once(ctx) == 1
    assert (await next_event(sub)).id == event.id
