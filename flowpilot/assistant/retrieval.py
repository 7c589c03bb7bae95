"""BM25 retrieval over an account's resolved sessions (the offline assistant's memory).

The index covers the account's ``MAX_CORPUS`` most recently resolved sessions (title, problem,
customer, asset, environment values, human steps, resolution). Building it is linear in the
corpus (tokenising dominates), so it is built off the event loop and kept per account in an
``IndexCache`` until the account's resolved set changes; a search touches only the postings of
the query's terms.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rank_bm25 import BM25Plus

# Beyond this many resolved sessions per account, only the most recently resolved are searched.
MAX_CORPUS = 3000
# A query keeps at most this many distinct terms, the rarest in the corpus first.
MAX_QUERY_TERMS = 48

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours after also get got still tried try trying issue problem please help
    """.split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_PARTS = re.compile(r"[._-]")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stopwords; dotted/dashed names (``kb-123``) stay whole."""
    tokens: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if len(token) < 2 or token in STOPWORDS:
            continue
        tokens.append(token)
        if not token.isalnum():
            # Also index the parts of compound tokens so "spooler" matches "print-spooler".
            tokens.extend(p for p in _PARTS.split(token) if len(p) > 1 and p not in STOPWORDS)
    return tokens


@dataclass
class ResolvedDoc:
    """One resolved session as the retriever sees it."""

    session_id: str
    title: str
    problem: str
    customer: str | None
    asset: str | None
    environment: dict[str, str]
    resolution: str
    resolved_by_id: str | None
    resolved_by_name: str | None
    resolved_at: datetime | None
    steps: list[tuple[str, str]] = field(default_factory=list)  # (kind, content)

    def text(self) -> str:
        parts: list[str] = [self.title, self.problem, self.customer or "", self.asset or ""]
        parts.extend(str(v) for v in self.environment.values())
        parts.extend(content for kind, content in self.steps if kind != "assistant")
        parts.append(self.resolution)
        return "\n".join(parts)


@dataclass
class Hit:
    doc: ResolvedDoc
    score: float

    @property
    def url(self) -> str:
        return f"/sessions/{self.doc.session_id}"


class Index:
    """A BM25 index over resolved sessions, built once and searched many times.

    BM25+ with delta 0 is plain BM25 with a never-negative IDF (Okapi's IDF goes negative for
    terms in more than half of a small corpus, which would rank matches below non-matches).
    """

    def __init__(self, docs: Sequence[ResolvedDoc]) -> None:
        self.docs = list(docs)
        corpus = [tokenize(d.text()) or ["\x00empty"] for d in self.docs]
        self.bm25 = BM25Plus(corpus, delta=0) if corpus else None
        # Term -> docs holding it, so a search touches only the docs that share a term.
        self.postings: dict[str, list[int]] = {}
        for i, freqs in enumerate(self.bm25.doc_freqs if self.bm25 else []):
            for term in freqs:
                self.postings.setdefault(term, []).append(i)

    def search(self, query: str, *, limit: int = 5, exclude: Iterable[str] = ()) -> list[Hit]:
        """The ``limit`` docs most similar to ``query``; docs sharing no term never appear.

        Scores are BM25 from the package's tables (idf, term frequencies, lengths), summed
        sparsely over the postings. Ties break by most recently resolved, then id.
        """
        bm25 = self.bm25
        terms = set(tokenize(query)) & self.postings.keys()
        if bm25 is None or not terms:
            return []
        # A long session makes a long query; its rarest terms carry the signal (and cost least).
        kept = sorted(terms, key=lambda t: (-bm25.idf[t], t))[:MAX_QUERY_TERMS]
        k1, b, avgdl = bm25.k1, bm25.b, bm25.avgdl
        scores: dict[int, float] = {}
        for term in kept:
            idf = bm25.idf[term]
            for i in self.postings[term]:
                tf = bm25.doc_freqs[i][term]
                norm = k1 * (1 - b + b * bm25.doc_len[i] / avgdl)
                scores[i] = scores.get(i, 0.0) + idf * tf * (k1 + 1) / (norm + tf)
        excluded = set(exclude)
        hits = [
            Hit(self.docs[i], score)
            for i, score in scores.items()
            if self.docs[i].session_id not in excluded
        ]
        hits = [h for h in hits if h.score > 0]
        hits.sort(
            key=lambda h: (
                -round(h.score, 9),
                -(h.doc.resolved_at.timestamp() if h.doc.resolved_at else 0.0),
                h.doc.session_id,
            )
        )
        return hits[:limit]


def rank(
    docs: Sequence[ResolvedDoc],
    query: str,
    *,
    limit: int = 5,
    exclude: Iterable[str] = (),
) -> list[Hit]:
    """Build an index over ``docs`` and search it once."""
    return Index(docs).search(query, limit=limit, exclude=exclude)


class IndexCache:
    """The last index built per account, reused while the account's resolved set is unchanged.

    Keyed by a fingerprint of the resolved set (how many, latest resolution time): resolving or
    reopening a session changes it, so a stale index is never searched. Bounded (LRU).
    """

    def __init__(self, max_accounts: int = 64) -> None:
        self.max_accounts = max_accounts
        self._entries: OrderedDict[str, tuple[Hashable, Index]] = OrderedDict()

    def get(self, account_id: str, fingerprint: Hashable) -> Index | None:
        entry = self._entries.get(account_id)
        if entry is None or entry[0] != fingerprint:
            return None
        self._entries.move_to_end(account_id)
        return entry[1]

    def put(self, account_id: str, fingerprint: Hashable, index: Index) -> None:
        self._entries[account_id] = (fingerprint, index)
        self._entries.move_to_end(account_id)
        while len(self._entries) > self.max_accounts:
            self._entries.popitem(last=False)
