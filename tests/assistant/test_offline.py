"""The offline provider: BM25 over the account's own resolved sessions, cited, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowpilot.assistant import service
from flowpilot.assistant.offline import OfflineProvider
from flowpilot.assistant.provider import SessionContext, StepView
from flowpilot.assistant.retrieval import ResolvedDoc, rank, tokenize
from tests.assistant.conftest import CORPUS


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


def test_tokenizer_lowercases_and_drops_stopwords() -> None:
    assert tokenize("The Print-Spooler is NOT running on HP") == [
        "print-spooler",
        "print",
        "spooler",
        "running",
        "hp",
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
        hits = rank(docs, query, limit=5)
        assert hits, query
        assert hits[0].doc.session_id == expected, (query, [h.doc.session_id for h in hits])
        assert hits == rank(docs, query, limit=5)  # deterministic


def test_no_shared_terms_means_no_suggestion_and_exclusion_holds() -> None:
    docs = _docs()
    assert rank(docs, "zebra quantum xylophone") == []
    assert rank(docs, "the and of") == []
    hits = rank(docs, "outlook password mfa", exclude=["s3"])
    assert "s3" not in [h.doc.session_id for h in hits]


async def test_offline_answer_cites_sources_and_resolvers() -> None:
    docs = _docs()
    ctx = SessionContext(
        session_id="cur",
        title="Outlook password prompt",
        problem="asks for the password since MFA",
        customer=None,
        asset=None,
        environment={"os": "Windows 11"},
        status="open",
        resolution=None,
        steps=[StepView("action", "Restarted Outlook", "Tech", datetime(2026, 2, 1, tzinfo=UTC))],
        similar=rank(docs, "outlook password mfa credential", limit=3),
    )
    text = "".join([c async for c in OfflineProvider().ask(ctx, None)])
    assert text.index("/sessions/s3") < len(text)
    assert "Removed cached Office credentials" in text
    assert "resolved by ADMIN" in text
    assert text.splitlines()[0].startswith("Suggested next steps, from")


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
    # Account B sees only its own session, even for a query made of A's words.
    async with db() as session:
        hits_b = await service.find_similar(
            session, tenant=corpus.b["eng"], query="printer spooler vpn mtu outlook", limit=10
        )
    assert [h.doc.session_id for h in hits_b] == [corpus.other_account_similar]


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


def test_sparse_scores_equal_the_packages_bm25() -> None:
    from flowpilot.assistant.retrieval import Index

    index = Index(_docs())
    query = "printer offline spooler update outlook"
    assert index.bm25 is not None
    dense = index.bm25.get_scores(sorted(set(tokenize(query))))
    by_id = {h.doc.session_id: h.score for h in index.search(query, limit=10)}
    for n, doc in enumerate(index.docs):
        assert abs(by_id.get(doc.session_id, 0.0) - float(dense[n])) < 1e-9
    assert by_id  # the query does match something
