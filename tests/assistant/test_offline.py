"""The offline provider: retrieval over the account's own resolved sessions, cited, paced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowpilot.assistant import service
from flowpilot.assistant.offline import (
    CAUSE_UNKNOWN,
    FIX_UNKNOWN,
    OfflineProvider,
    found_fix,
    writeup_lines,
)
from flowpilot.assistant.provider import SessionContext, StepView
from flowpilot.assistant.retrieval import SILENCE_BELOW, ResolvedDoc, rank
from tests.assistant.conftest import CORPUS

WHEN = datetime(2026, 2, 1, tzinfo=UTC)


def _docs() -> list[ResolvedDoc]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        ResolvedDoc(
            session_id=f"s{n}",
            title=title,
            problem=problem,
            customer=None,
            asset=None,
            environment={},
            resolution=resolution,
            resolved_by_id=resolver,
            resolved_by_name=resolver.upper(),
            resolved_at=base + timedelta(days=n),
            steps=[("action", a) for a, _ in actions] + [("result", r) for _, r in actions],
        )
        for n, (title, problem, resolution, actions, resolver) in enumerate(CORPUS, start=1)
    ]


def test_each_query_ranks_its_session_first() -> None:
    docs = _docs()
    queries = {
        "s1": "printer shows offline since the windows update, spooler",
        "s2": "vpn keeps disconnecting on wifi",
        "s3": "outlook asks for the password again and again since MFA",
        "s4": "battery will not charge on the dell",
        "s5": "network drive Z missing after login",
    }
    for expected, query in queries.items():
        hits = rank(docs, query, limit=5, min_relevance=SILENCE_BELOW)
        assert [h.doc.session_id for h in hits] == [expected], query
        assert hits == rank(docs, query, limit=5, min_relevance=SILENCE_BELOW)  # deterministic


def test_no_shared_terms_means_no_suggestion_and_exclusion_holds() -> None:
    docs = _docs()
    assert rank(docs, "zebra quantum xylophone") == []
    assert rank(docs, "the and of") == []
    # Sharing a word is not enough: "printer" alone is below the silence threshold.
    assert rank(docs, "zebra label printer prints blank labels", min_relevance=SILENCE_BELOW) == []
    hits = rank(docs, "outlook password mfa", exclude=["s3"])
    assert "s3" not in [h.doc.session_id for h in hits]


def _ctx(similar: list, steps: list[StepView] | None = None, **extra) -> SessionContext:  # type: ignore[no-untyped-def, type-arg]
    return SessionContext(
        session_id="cur",
        title="Outlook password prompt",
        problem="asks for the password since MFA",
        customer=None,
        asset=None,
        environment={"os": "Windows 11"},
        status="open",
        resolution=None,
        steps=steps
        if steps is not None
        else [StepView("action", "Restarted Outlook", "Tech", WHEN)],
        similar=similar,
        **extra,
    )


async def test_offline_answer_cites_sources_resolvers_and_why() -> None:
    similar = rank(_docs(), "Outlook password MFA prompt", limit=3, min_relevance=SILENCE_BELOW)
    text = "".join([c async for c in OfflineProvider().ask(_ctx(similar), None)])
    lines = text.splitlines()
    assert lines[0] == "Suggested from 1 similar resolved session:"
    assert lines[2].startswith("1. Removed cached Office credentials")
    assert lines[3] == (
        "   Why it matches: model: Outlook; symptom: password, prompt, MFA (strong match)"
    )
    assert "(/sessions/s3), resolved by ADMIN" in text


async def test_below_the_threshold_the_answer_says_so_and_suggests_nothing() -> None:
    text = "".join([c async for c in OfflineProvider().ask(_ctx([]), "what fixed this before?")])
    assert text.splitlines()[:3] == [
        "You asked: what fixed this before?",
        "",
        "No resolved session looks like this one yet, so there is nothing to suggest.",
    ]
    assert "/sessions/" not in text


async def test_the_answer_streams_line_by_line_with_injected_pauses() -> None:
    pauses: list[float] = []
    seen: list[tuple[int, str]] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    similar = rank(_docs(), "Outlook password MFA prompt", limit=3)
    provider = OfflineProvider(pace_seconds=0.05, pause=pause)
    async for chunk in provider.ask(_ctx(similar), None):
        seen.append((len(pauses), chunk))
    # One chunk per line, each (after the first) sent after its own pause.
    assert len(seen) >= 5
    assert [n for n, _ in seen] == list(range(len(seen)))
    assert pauses == [0.05] * (len(seen) - 1)
    assert all(chunk.endswith("\n") and chunk.count("\n") == 1 for _, chunk in seen)


def test_writeup_takes_cause_and_fix_only_from_what_a_person_recorded() -> None:
    unknown = list(writeup_lines(_ctx([])))
    assert unknown[unknown.index("Cause") + 1] == CAUSE_UNKNOWN
    assert unknown[unknown.index("Fix") + 1] == FIX_UNKNOWN
    steps = [
        StepView("action", "Restarted Outlook", "Tech", WHEN),
        StepView("result", "Still prompting", "Tech", WHEN),
        StepView("note", "Prompt loop because an old registry key disables modern auth", "T", WHEN),
        StepView("action", "Deleted the registry key", "Tech", WHEN),
        StepView("result", "Outlook connected without a prompt", "Tech", WHEN),
    ]
    known = list(writeup_lines(_ctx([], steps)))
    assert known[known.index("Cause") + 1] == steps[2].content
    assert known[known.index("Fix") + 1] == (
        "Deleted the registry key (result: Outlook connected without a prompt)"
    )
    # A result that did not work is never taken for the fix.
    assert found_fix(_ctx([], steps[:2])) is None
    assert (
        found_fix(
            _ctx(
                [],
                steps[:2],
            )
        )
        is None
    )
    assert (
        found_fix(_ctx([], [*steps[:1], StepView("result", "Works, but not for long", "T", WHEN)]))
        is None
    )


async def test_retrieval_is_scoped_to_the_account_and_resolved_sessions(corpus, db) -> None:  # type: ignore[no-untyped-def]
    async with db() as session:
        hits = await service.find_similar(
            session,
            tenant=corpus.a["tech"],
            query="Outlook 365 keeps asking for the password after MFA, credential manager",
            limit=10,
        )
    ids = [h.doc.session_id for h in hits]
    assert ids[0] == corpus.resolved[2]
    assert corpus.open_similar not in ids
    assert corpus.other_account_similar not in ids
    assert hits[0].doc.resolved_by_name == corpus.a["admin"].name
    # Account B sees only its own session for the same words, and nothing for words that fit
    # only account A's sessions (A's VPN fix is a perfect match there).
    async with db() as session:
        hits_b = await service.find_similar(
            session,
            tenant=corpus.b["eng"],
            query="Outlook 365 keeps asking for the password after MFA, credential manager",
            limit=10,
        )
        vpn_b = await service.find_similar(
            session, tenant=corpus.b["eng"], query="FortiClient VPN drops every ten minutes"
        )
        vpn_a = await service.find_similar(
            session, tenant=corpus.a["eng"], query="FortiClient VPN drops every ten minutes"
        )
    assert [h.doc.session_id for h in hits_b] == [corpus.other_account_similar]
    assert vpn_b == []
    assert [h.doc.session_id for h in vpn_a] == [corpus.resolved[1]]


async def test_cached_index_follows_new_resolutions_and_renames(  # type: ignore[no-untyped-def]
    corpus, db, client, clock
) -> None:
    from sqlalchemy import update

    from flowpilot.models import AiSession, User
    from tests.assistant.helpers import resolved_session

    tech, eng2 = corpus.a["tech"], corpus.a["eng2"]
    query = "thermal receipt roll jam at the till"

    async def search() -> list:  # type: ignore[type-arg]
        async with db() as session:
            return await service.find_similar(session, tenant=tech, query=query, limit=5)

    assert await search() == []  # builds and caches the account's index
    new = await resolved_session(
        client,
        db,
        tech,
        resolver=eng2,
        title="Thermal receipt printer jams",
        problem="Paper jam on the thermal receipt printer at till 3",
        resolution="Replaced the paper roll guide",
        when=clock.now(),
    )
    hits = await search()
    assert [h.doc.session_id for h in hits] == [new]
    async with db() as session:
        await session.execute(update(User).where(User.id == eng2.id).values(name="Erin Renamed"))
        await session.commit()
    assert (await search())[0].doc.resolved_by_name == "Erin Renamed"
    async with db() as session:  # reopened: no longer a resolved session, never suggested
        await session.execute(update(AiSession).where(AiSession.id == new).values(status="open"))
        await session.commit()
    assert await search() == []


def test_index_cache_is_bounded_and_keyed_by_fingerprint() -> None:
    from flowpilot.assistant.retrieval import Index, IndexCache

    cache = IndexCache(max_accounts=2)
    index = Index(_docs())
    cache.put("a", (5, "t1"), index)
    assert cache.get("a", (5, "t1")) is index
    assert cache.get("a", (6, "t2")) is None
    cache.put("b", (1, None), index)
    cache.put("c", (1, None), index)
    assert cache.get("a", (5, "t1")) is None  # least recently used went first
    assert cache.get("c", (1, None)) is index


def test_relevance_is_a_share_and_sessions_sharing_nothing_never_appear() -> None:
    from flowpilot.assistant.retrieval import Index

    index = Index(_docs())
    hits = index.search("printer offline spooler update outlook", limit=10)
    assert {h.doc.session_id for h in hits} == {"s1", "s3"}
    assert all(0 < h.relevance < 1 for h in hits)
    assert hits[0].doc.session_id == "s1" and hits[0].relevance > hits[1].relevance
