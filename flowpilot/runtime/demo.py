"""The demo account: users of every role and a few AI sessions (``flowpilot demo``).

Besides the open sessions (one escalated) it holds resolved sessions from the last two weeks,
most of them handed to and resolved by the engineers, so that on first run the assistant has
something to draw on: the escalated printer shows suggestions and suggested seniors. And six
weeks of escalations with manual stopwatch times (``pilot_history``), so the metrics page,
its weekly chart, the hours-saved interval and the verdict show on first run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts
from flowpilot.ai_sessions import service as sessions
from flowpilot.handoffs import service as handoffs
from flowpilot.kernel.identity import AccountRef, Actor, Role
from flowpilot.models import User
from flowpilot.runtime.demo_pilot import pilot_history

DEMO_PASSWORD = "flowpilot-demo"
DEMO_DOMAIN = "demo.flowpilot.test"


def _actor(user: User) -> Actor:
    return Actor(user.id, user.account_id, user.role, user.email, user.name, "", "", "cli")


@dataclass(frozen=True)
class Past:
    """A resolved session: opened by the technician, handed to ``resolver`` (a key of the
    demo's people) who took the last steps and resolved it ``days_ago``."""

    title: str
    problem: str
    customer: str
    asset: str
    environment: dict[str, str]
    tech_steps: tuple[tuple[str, str], ...]
    resolver: str
    resolver_steps: tuple[tuple[str, str], ...]
    resolution: str
    days_ago: int


HISTORY = (
    Past(
        "LaserJet offline after the firmware push",
        "HP LaserJet shows offline on every PC since the firmware update last night; it pings "
        "and its web page loads.",
        "Harbor Bakery",
        "HP LaserJet M507 #HB-01",
        {"os": "Windows 11 23H2", "firmware": "2506.1"},
        (
            ("action", "Power-cycled the printer and reseated the network cable."),
            ("result", "Printer has its IP and prints a configuration page; queue still offline."),
        ),
        "erin",
        (
            ("action", "Unticked 'SNMP Status Enabled' on the printer's Standard TCP/IP port."),
            ("result", "Queue shows Ready at once; test page printed from two PCs."),
        ),
        "The new firmware answers SNMP differently, so Windows marked the printer offline: "
        "disabled 'SNMP Status Enabled' on the Standard TCP/IP port of the queue.",
        12,
    ),
    Past(
        "Printer offline for all users after firmware update",
        "After the HP firmware update the LaserJet on floor 2 is offline for everybody, although "
        "the network and the printer's IP are fine.",
        "Acme Dental",
        "HP LaserJet M507 #F2-04",
        {"os": "Windows 11 23H2", "network": "VLAN 30", "firmware": "2506.1"},
        (("action", "Restarted the Print Spooler service."), ("result", "Still offline.")),
        "sam",
        (
            ("action", "Turned off SNMP status on the print server's port for the printer."),
            ("result", "Printer online; the three waiting jobs printed."),
        ),
        "Firmware 2506.1 breaks the SNMP status check: turned off 'SNMP Status Enabled' on the "
        "printer port on the print server; all users print again.",
        5,
    ),
    Past(
        "VPN drops every ten minutes for home workers",
        "FortiClient VPN disconnects about every ten minutes for staff working from home.",
        "Northwind Legal",
        "FortiGate 60F",
        {"vpn": "FortiClient 7.2"},
        (("action", "Checked the FortiGate event log."), ("result", "Tunnel down on DPD timeout.")),
        "sam",
        (
            ("action", "Set the MTU on the FortiClient adapter to 1400 and disabled DTLS."),
            ("result", "No drops over a full day."),
        ),
        "Lowered the VPN adapter MTU to 1400 and disabled DTLS on the SSL VPN portal: home "
        "routers were fragmenting the tunnel.",
        9,
    ),
    Past(
        "Outlook keeps asking for the password",
        "Since MFA was enabled Outlook 365 shows a password prompt loop; webmail works.",
        "Acme Dental",
        "Outlook 365",
        {"os": "Windows 11 23H2"},
        (("action", "Restarted Outlook."), ("result", "Still prompting.")),
        "erin",
        (
            ("action", "Cleared the Office entries in Windows Credential Manager."),
            ("result", "Outlook signed in with MFA, no more prompts."),
        ),
        "Removed the cached Office credentials in Windows Credential Manager and signed in "
        "again with modern authentication.",
        3,
    ),
    Past(
        "Receipt printer offline at till 2",
        "The Epson receipt printer at till 2 shows offline in the POS; sales work, no receipts.",
        "Harbor Bakery",
        "Epson TM-T88VI",
        {},
        (
            ("action", "Printed the status sheet: the printer took a new IP address."),
            ("action", "Reserved the address in the router and updated the POS printer."),
            ("result", "Receipts print again."),
        ),
        "tom",
        (),
        "Reserved the receipt printer's IP address in DHCP and updated it in the POS settings.",
        7,
    ),
)


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
    erin = await accounts.create_user(
        session,
        tenant=ref,
        email=f"engineer@{DEMO_DOMAIN}",
        name="Erin Engineer",
        role=Role.ENGINEER,
        password=DEMO_PASSWORD,
        now=now,
    )
    sam = await accounts.create_user(
        session,
        tenant=ref,
        email=f"senior@{DEMO_DOMAIN}",
        name="Sam Senior",
        role=Role.ENGINEER,
        password=DEMO_PASSWORD,
        now=now,
    )
    actor = _actor(tech)
    people = {"tom": actor, "erin": _actor(erin), "sam": _actor(sam)}
    for past in HISTORY:
        await _resolved(session, past, people, now=now)
    await pilot_history(session, people, now=now)
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
    await _claimed_but_idle(session, people, now=now)
    return account.id


async def _claimed_but_idle(
    session: AsyncSession, people: dict[str, Actor], *, now: datetime
) -> None:
    """Act faster: an escalation Erin claimed 25 minutes ago without a step since (the idle
    guard nudges her as the server starts and puts it back in the queue 5 minutes later). The
    open printer escalation's emails, sent when the dispatcher starts, carry claim links."""
    tech, erin = people["tom"], people["erin"]
    ai_session = await sessions.open_session(
        session,
        actor=tech,
        title="Outlook asks for the password every hour",
        problem="Outlook on three laptops prompts for the mailbox password about once an hour.",
        customer="Northwind Legal",
        asset="Microsoft 365 tenant",
        environment={"client": "Outlook 2405", "auth": "modern"},
        now=now - timedelta(minutes=40),
    )
    await sessions.add_step(
        session,
        actor=tech,
        session_id=ai_session.id,
        kind="action",
        content="Cleared the cached credentials in Credential Manager; the prompt came back.",
        now=now - timedelta(minutes=38),
    )
    handoff = await handoffs.escalate(
        session,
        actor=tech,
        session_id=ai_session.id,
        reason="Credential reset did not help; looks like a token or conditional access issue.",
        urgency="normal",
        now=now - timedelta(minutes=35),
        bus=None,
    )
    await handoffs.claim(
        session,
        actor=erin,
        handoff_id=handoff.handoff.id,
        now=now - timedelta(minutes=25),
        bus=None,
    )


async def _resolved(
    session: AsyncSession, past: Past, people: dict[str, Actor], *, now: datetime
) -> None:
    """Open ``past`` as the technician, hand it to its resolver, resolve it (back-dated)."""
    tech, resolver = people["tom"], people[past.resolver]
    at = now - timedelta(days=past.days_ago, hours=3)
    ai_session = await sessions.open_session(
        session,
        actor=tech,
        title=past.title,
        problem=past.problem,
        customer=past.customer,
        asset=past.asset,
        environment=dict(past.environment),
        now=at,
    )
    for kind, content in past.tech_steps:
        at += timedelta(minutes=6)
        await sessions.add_step(
            session, actor=tech, session_id=ai_session.id, kind=kind, content=content, now=at
        )
    if resolver is not tech:
        at += timedelta(minutes=10)
        await sessions.assign(session, ai_session=ai_session, assignee_id=resolver.id, now=at)
    for kind, content in past.resolver_steps:
        at += timedelta(minutes=8)
        await sessions.add_step(
            session, actor=resolver, session_id=ai_session.id, kind=kind, content=content, now=at
        )
    await sessions.resolve_session(
        session,
        actor=resolver,
        session_id=ai_session.id,
        resolution=past.resolution,
        now=at + timedelta(minutes=5),
    )
