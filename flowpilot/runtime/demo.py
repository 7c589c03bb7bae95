"""The demo account: users of every role and a few AI sessions (``flowpilot demo``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts
from flowpilot.ai_sessions import service as sessions
from flowpilot.handoffs import service as handoffs
from flowpilot.kernel.identity import AccountRef, Actor, Role
from flowpilot.models import User

DEMO_PASSWORD = "flowpilot-demo"
DEMO_DOMAIN = "demo.flowpilot.test"


def _actor(user: User) -> Actor:
    return Actor(user.id, user.account_id, user.role, user.email, user.name, "", "", "cli")


async def create_demo(session: AsyncSession, ctx: Any) -> str | None:
    """Create the demo account; None if it already exists (idempotent)."""
    existing = await session.execute(select(User.id).where(User.email == f"admin@{DEMO_DOMAIN}"))
    if existing.first() is not None:
        return None
    now = ctx.clock.now()
    account, _admin = await accounts.create_account(
        session,
        name="Demo Field Services",
        admin_email=f"admin@{DEMO_DOMAIN}",
        admin_password=DEMO_PASSWORD,
        admin_name="Ada Admin",
        now=now,
    )
    ref = AccountRef(account.id)
    tech = await accounts.create_user(
        session,
        tenant=ref,
        email=f"tech@{DEMO_DOMAIN}",
        name="Tom Technician",
        role=Role.TECHNICIAN,
        password=DEMO_PASSWORD,
        now=now,
    )
    await accounts.create_user(
        session,
        tenant=ref,
        email=f"engineer@{DEMO_DOMAIN}",
        name="Erin Engineer",
        role=Role.ENGINEER,
        password=DEMO_PASSWORD,
        now=now,
    )
    await accounts.create_user(
        session,
        tenant=ref,
        email=f"senior@{DEMO_DOMAIN}",
        name="Sam Senior",
        role=Role.ENGINEER,
        password=DEMO_PASSWORD,
        now=now,
    )
    actor = _actor(tech)
    examples = [
        (
            "Printer offline after firmware update",
            "HP LaserJet on floor 3 shows offline for all users since last night's firmware push.",
            "Acme Dental",
            "HP LaserJet M507 #F3-01",
            {"os": "Windows 11 23H2", "network": "VLAN 30", "firmware": "2506.1"},
            [
                ("note", "Customer reports printer offline on every workstation."),
                ("action", "Power-cycled the printer and checked the network cable."),
                ("result", "Printer gets an IP (10.3.0.45) but the queue still shows offline."),
            ],
            None,
        ),
        (
            "VPN drops every 10 minutes",
            "Remote staff lose the VPN tunnel roughly every 10 minutes; reconnect works.",
            "Northwind Legal",
            "FortiGate 60F",
            {"vpn": "FortiClient 7.2", "isp": "Fiber 500/500"},
            [
                ("note", "Happens for all remote users, not on site."),
                ("action", "Checked FortiGate event log for tunnel down messages."),
            ],
            None,
        ),
        (
            "Printer queue stuck after driver update",
            "Jobs pile up in the queue after the Windows driver update; nothing prints.",
            "Acme Dental",
            "HP LaserJet M507 #F2-04",
            {"os": "Windows 11 23H2", "driver": "HP Universal 7.1"},
            [
                ("action", "Restarted the Print Spooler service; queue cleared, then stuck again."),
                ("action", "Rolled back to HP Universal driver 7.0 and cleared the spool folder."),
                ("result", "Test page printed; three queued jobs printed after the rollback."),
            ],
            # Resolved sessions are what the assistant learns from: give the demo one.
            "Driver 7.1 breaks the queue: rolled back to HP Universal 7.0 and cleared "
            "C:\\Windows\\System32\\spool\\PRINTERS, then restarted the spooler.",
        ),
    ]
    first_open: str | None = None
    for title, problem, customer, asset, env, steps, resolution in examples:
        ai_session = await sessions.open_session(
            session,
            actor=actor,
            title=title,
            problem=problem,
            customer=customer,
            asset=asset,
            environment=env,
            now=now,
        )
        for kind, content in steps:
            await sessions.add_step(
                session, actor=actor, session_id=ai_session.id, kind=kind, content=content, now=now
            )
        if resolution:
            await sessions.resolve_session(
                session, actor=actor, session_id=ai_session.id, resolution=resolution, now=now
            )
        elif first_open is None:
            first_open = ai_session.id
    if first_open is not None:
        # One open escalation, so an engineer's queue shows a card right away. The bus is not
        # running here: the relay publishes the event when the server starts.
        await handoffs.escalate(
            session,
            actor=actor,
            session_id=first_open,
            reason="Tried power-cycle and cabling; queue still offline. Customer waiting on site.",
            urgency="high",
            now=now,
            bus=None,
        )
    return account.id
