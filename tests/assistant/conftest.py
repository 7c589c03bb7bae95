from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from tests.assistant.helpers import resolved_session
from tests.factories import TestUser, open_session

# Five resolved sessions of account A: (title, problem, resolution, actions, resolver key).
CORPUS = [
    (
        "Printer offline after Windows update",
        "HP LaserJet shows offline; print spooler stopped after the monthly update",
        "Restarted the Print Spooler service and cleared stuck jobs from the spool folder",
        [("Restarted print spooler service", "Printer back online")],
        "eng",
    ),
    (
        "VPN drops every ten minutes",
        "FortiClient VPN disconnects every ten minutes on home wifi",
        "Lowered the MTU to 1400 on the VPN adapter",
        [("Checked FortiClient logs", "Keepalive timeouts"), ("Set MTU 1400", "Stable")],
        "eng2",
    ),
    (
        "Outlook keeps asking for password",
        "Outlook 365 password prompt loop after MFA was enabled for the mailbox",
        "Removed cached Office credentials in Windows Credential Manager and re-added the "
        "account with modern authentication",
        [("Cleared Credential Manager entries for Office", "Outlook connected without prompt")],
        "admin",
    ),
    (
        "Laptop battery not charging",
        "Dell Latitude plugged in but battery stays at 40 percent, not charging",
        "Replaced the 65W adapter with the 90W Dell adapter",
        [("Tried another outlet", "Still not charging")],
        "eng",
    ),
    (
        "Shared drive mapping fails at login",
        "Mapped network drive Z: does not appear at login; GPO drive map",
        "Fixed the item-level targeting of the GPO drive map",
        [("Ran gpresult", "Drive map policy filtered out")],
        "eng",
    ),
]


@dataclass
class Corpus:
    a: dict[str, TestUser]
    b: dict[str, TestUser]
    resolved: list[str]  # ids of CORPUS in order
    open_similar: str  # account A, open, very like #3
    other_account_similar: str  # account B, resolved, very like #3
    extra: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def corpus(client, db, factory, clock) -> Corpus:  # type: ignore[no-untyped-def]
    a = await factory.team()
    b = await factory.team()
    start = clock.now()
    ids = []
    for n, (title, problem, resolution, actions, resolver) in enumerate(CORPUS):
        ids.append(
            await resolved_session(
                client,
                db,
                a["tech"],
                resolver=a[resolver],
                title=title,
                problem=problem,
                resolution=resolution,
                actions=actions,
                when=start - timedelta(days=10 - n),
            )
        )
    open_similar = (
        await open_session(
            client,
            a["tech"],
            title="Outlook password prompt loop",
            problem="Outlook 365 keeps asking for the password after MFA was enabled",
        )
    )["id"]
    other = await resolved_session(
        client,
        db,
        b["tech"],
        resolver=b["eng"],
        title="Outlook keeps asking for password after MFA",
        problem="Outlook 365 password prompt loop after MFA enabled, credential manager",
        resolution="Other account's secret fix: reset the Outlook profile",
        when=start - timedelta(days=1),
    )
    return Corpus(a, b, ids, open_similar, other)


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The offline assistant streams its lines without pausing here (tests never sleep)."""
    return settings.model_copy(update={"assistant_pace_seconds": 0.0})


@pytest.fixture(scope="session")
def llm_server():  # type: ignore[no-untyped-def]
    """A real OpenAI-compatible server on a free loopback port (one per test worker)."""
    from tests.assistant.llm_server import serve

    yield from serve()
