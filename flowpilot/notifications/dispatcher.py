"""Delivery dispatcher: lease due deliveries, send outside the transaction, record the outcome.

Lifecycle of a delivery: ``pending`` -> (leased) ``sending`` -> ``sent`` | ``failed`` (retried
after an exponential back-off) | ``dead`` (gave up after ``delivery_max_attempts``) |
``skipped`` (deliberately not sent: a re-notification for a handoff that was claimed meanwhile,
a deactivated recipient, a webhook switched off). A lease that is never finished (the worker
died) expires after ``delivery_sending_timeout_seconds`` and the row is taken again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter

from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.settings import Settings
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import HandoffStatus
from flowpilot.models.notifications import CHANNELS, Channel, DeliveryStatus
from flowpilot.notifications import claim_links
from flowpilot.notifications import email as email_channel
from flowpilot.notifications import repository as repo
from flowpilot.notifications import webhook as webhook_channel
from flowpilot.notifications.chain import run_chain_once
from flowpilot.notifications.email import SendError
from flowpilot.notifications.messages import build_notice, webhook_message
from flowpilot.notifications.outcomes import Outcome, Recorder, record

log = logging.getLogger("flowpilot.notifications")

__all__ = [
    "dispatcher_job",
    "escalation_chain_job",
    "lane_job",
    "run_chain_once",
    "run_once",
    "take_due",
]


async def take_due(
    ctx: Context, *, limit: int | None = None, channel: str | None = None
) -> list[repo.Job]:
    """Lease due deliveries (of one ``channel``, or all), read what sending needs and issue the
    emails' claim links, in one short committed transaction."""
    now = ctx.clock.now()
    async with unit_of_work(ctx.system.sessionmaker) as session:  # every account's due deliveries
        ids = await repo.take_due(
            session,
            now=now,
            limit=limit or _batch_size(ctx.settings, channel),
            lease_seconds=ctx.settings.delivery_sending_timeout_seconds,
            skip_locked=ctx.system.engine.dialect.name == "postgresql",
            channel=channel,
        )
        jobs = await repo.load_jobs(session, ids)
        links = await claim_links.issue_many(
            session,
            [j for j in jobs if _skip_reason(j) is None and not _given_up(ctx.settings, j)],
            now=now,
            base_url=ctx.settings.base_url,
        )
    return [dataclasses.replace(j, claim_link=links.get(j.delivery_id)) for j in jobs]


def _given_up(settings: Settings, job: repo.Job) -> bool:
    # Only an expired lease gets past the last attempt: the worker died mid-send on it.
    return job.attempts > settings.delivery_max_attempts


def _batch_size(settings: Settings, channel: str | None) -> int:
    return settings.email_batch_size if channel == Channel.EMAIL else settings.delivery_batch_size


def _concurrency(settings: Settings, channel: str | None) -> int:
    if channel == Channel.EMAIL:
        return max(1, settings.email_concurrency)
    return max(1, settings.delivery_concurrency)


async def run_once(ctx: Context, *, limit: int | None = None, channel: str | None = None) -> int:
    """One dispatcher round over ``channel`` (default: every channel): returns how many
    deliveries were taken (0 when idle). Outcomes are committed in small batches as they
    come (see ``outcomes.py``); leases the round could not start before they would expire
    are handed back."""
    _outcomes(ctx)  # registered up front, so /metrics shows it before the first send
    jobs = await take_due(ctx, limit=limit, channel=channel)
    if not jobs:
        return 0
    settings = ctx.settings
    # No send starts past half the lease (a slow server must not outlast it: another worker
    # would take the row again and send it too); the rest is handed back.
    start_by = ctx.clock.now() + timedelta(seconds=settings.delivery_sending_timeout_seconds / 2)
    queue = iter(jobs)
    unstarted: list[repo.Job] = []
    async with (
        httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        ) as client,
        email_channel.SmtpConnections(settings) as smtp,
        Recorder(ctx, lambda channel, status, n: _count(ctx, channel, status, n)) as recorder,
    ):

        async def sender() -> None:
            for job in queue:
                if ctx.clock.now() >= start_by:
                    unstarted.append(job)
                    continue
                await process(ctx, job, client, smtp, recorder=recorder)

        await asyncio.gather(
            *(sender() for _ in range(min(_concurrency(settings, channel), len(jobs))))
        )
    if unstarted:
        async with unit_of_work(ctx.system.sessionmaker) as session:
            await repo.release(
                session, [(j.delivery_id, j.attempts) for j in unstarted], ctx.clock.now()
            )
    return len(jobs)


async def process(
    ctx: Context,
    job: repo.Job,
    client: httpx.AsyncClient,
    smtp: email_channel.SmtpConnections | None = None,
    *,
    recorder: Recorder | None = None,
) -> None:
    """Send one leased delivery (or decide not to) and record the outcome (on ``recorder``'s
    next batch, or at once without one)."""
    settings = ctx.settings
    skip = _skip_reason(job)
    if skip is not None:
        await _finish(ctx, job, status=DeliveryStatus.SKIPPED, error=skip, recorder=recorder)
        return
    if _given_up(settings, job):
        error = f"gave up after {job.attempts - 1} attempts (last one never finished)"
        await _finish(ctx, job, status=DeliveryStatus.DEAD, error=error, recorder=recorder)
        return
    try:
        await _send(ctx, job, client, smtp)
    except SendError as exc:
        await _failed(ctx, job, str(exc), recorder)
    except Exception as exc:
        log.exception("delivery %s: unexpected error while sending", job.delivery_id)
        await _failed(ctx, job, f"internal error: {type(exc).__name__}", recorder)
    else:
        await _finish(ctx, job, status=DeliveryStatus.SENT, error=None, recorder=recorder)


def _skip_reason(job: repo.Job) -> str | None:
    # The creation notice always goes out (it records that the team was told); the chain's
    # re-notifications are pointless once someone has the escalation.
    # A hand-over or a nudge is pointless once the holder no longer holds it.
    if job.event_type in (EventType.HANDOFF_ASSIGNED, EventType.HANDOFF_IDLE_NUDGED):
        if job.handoff_status != HandoffStatus.CLAIMED:
            return f"handoff already {job.handoff_status}"
    elif job.event_type != EventType.HANDOFF_CREATED and job.handoff_status != HandoffStatus.OPEN:
        return f"handoff already {job.handoff_status}"
    if job.channel == Channel.EMAIL:
        if not job.recipient_active:
            return "recipient deactivated"
        if not job.recipient_email:
            return "recipient has no email address"
    elif job.channel == Channel.WEBHOOK:
        if not job.webhook_enabled or not job.webhook_url:
            return "webhook disabled"
        if not job.webhook_secret:
            return "webhook has no signing secret"
    else:
        return f"unknown channel {job.channel}"
    return None


async def _send(
    ctx: Context,
    job: repo.Job,
    client: httpx.AsyncClient,
    smtp: email_channel.SmtpConnections | None,
) -> None:
    settings = ctx.settings
    now = ctx.clock.now()
    notice = build_notice(
        event_type=job.event_type,
        payload=job.payload,
        handoff_id=job.handoff_id,
        handoff_status=job.handoff_status,
        base_url=settings.base_url,
    )
    if job.channel == Channel.EMAIL:
        if job.claim_link:  # this recipient's "claim from the email"
            notice = dataclasses.replace(notice, claim_link=job.claim_link)
        msg = email_channel.build_email(
            notice,
            delivery_id=job.delivery_id,
            to_email=job.recipient_email or "",
            to_name=job.recipient_name,
            settings=settings,
            now=now,
        )
        await email_channel.send(
            msg, delivery_id=job.delivery_id, settings=settings, connections=smtp
        )
    else:
        await webhook_channel.post(
            client,
            url=job.webhook_url or "",
            secrets_=webhook_channel.signing_secrets(
                job.webhook_secret or "",
                job.webhook_previous_secret,
                job.webhook_secret_rotated_at,
                now,
            ),
            message=webhook_message(
                notice,
                fmt=job.webhook_format,
                event_type=job.event_type,
                event_id=job.event_id,
                created_at=job.event_created_at,
                payload=job.payload,
            ),
            delivery_id=job.delivery_id,
            event_type=job.event_type,
            now=now,
            block_private=settings.webhook_block_private_networks,
        )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """min(cap, base * 2^(attempts-1)), shortened by up to ``jitter`` (never lengthened)."""
    delay = min(
        settings.delivery_backoff_cap_seconds,
        settings.delivery_backoff_base_seconds * 2 ** max(attempts - 1, 0),
    )
    jitter = min(max(settings.delivery_backoff_jitter, 0.0), 1.0)
    return delay * (1.0 - jitter * random.random())


async def _failed(ctx: Context, job: repo.Job, error: str, recorder: Recorder | None) -> None:
    if job.attempts >= ctx.settings.delivery_max_attempts:
        await _finish(ctx, job, status=DeliveryStatus.DEAD, error=error, recorder=recorder)
        return
    retry_at = ctx.clock.now() + timedelta(seconds=backoff_seconds(ctx.settings, job.attempts))
    await _finish(
        ctx,
        job,
        status=DeliveryStatus.FAILED,
        error=error,
        next_attempt_at=retry_at,
        recorder=recorder,
    )


async def _finish(
    ctx: Context,
    job: repo.Job,
    *,
    status: str,
    error: str | None,
    next_attempt_at: datetime | None = None,
    recorder: Recorder | None = None,
) -> None:
    outcome = Outcome(job.delivery_id, job.channel, job.attempts, status, error, next_attempt_at)
    if recorder is not None:
        recorder.add(outcome)
    else:
        await record(ctx, [outcome], lambda channel, status, n: _count(ctx, channel, status, n))


def _count(ctx: Context, channel: str, status: str, n: int = 1) -> None:
    _outcomes(ctx).labels(channel=channel, outcome=status).inc(n)


def _outcomes(ctx: Context) -> Counter:
    """``flowpilot_delivery_outcomes_total{channel,outcome}`` on the process's registry."""
    return ctx.metrics.counter(
        "flowpilot_delivery_outcomes",
        "Delivery attempts by channel and outcome (sent, failed, dead, skipped)",
        ["channel", "outcome"],
    )


async def dispatcher_job(ctx: Context) -> None:
    """One lane per channel, each draining on its own: a slow SMTP server never holds up a
    webhook (nor a slow webhook the mail) longer than one ``dispatcher_interval_seconds``."""
    await asyncio.gather(*(lane_job(ctx, channel) for channel in CHANNELS))


async def lane_job(ctx: Context, channel: str) -> None:
    """Loop: take due deliveries of ``channel`` (SKIP LOCKED on PostgreSQL), send, record."""
    while True:
        try:
            taken = await run_once(ctx, channel=channel)
        except Exception:
            log.exception("delivery dispatcher round (%s) failed", channel)
            taken = 0
        # A full batch means more may be due: go again at once; otherwise wait (one indexed
        # query per lane and interval while idle).
        if taken < _batch_size(ctx.settings, channel):
            await asyncio.sleep(ctx.settings.dispatcher_interval_seconds)


async def escalation_chain_job(ctx: Context) -> None:
    """Loop: re-notify seniors after N minutes, alert admins after M minutes."""
    while True:
        try:
            await run_chain_once(ctx)
        except Exception:
            log.exception("escalation chain round failed")
        await asyncio.sleep(ctx.settings.escalation_chain_interval_seconds)
