"""Field-weighted BM25 over an account's resolved sessions, with a relevance the assistant trusts.

Each session is indexed by field (title, problem and asset weigh most; steps and resolution
less; environment little; the customer's name not at all, so "same customer" never passes for
"same problem"). A search scores every session sharing a term with the query, then rescales the
score into a ``relevance`` in [0, 1]: the share of the query's own weight (IDF times field
weight) that the session matches, saturated per term as BM25 does; the asking session's steps,
environment and escalation reason count only where they match. That number means the same
for a short query and a long one, so one threshold (``SILENCE_BELOW``, calibrated on
``bench/retrieval.py``'s evaluation set) separates "looks like this one" from noise. Below it
the assistant says nothing rather than suggest something unrelated.

Building an index is linear in the corpus (tokenising dominates): it is built off the event loop
and kept per account in an ``IndexCache`` until the account's resolved set changes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flowpilot.assistant.text import TermKind, kind_of, weighted_terms

# Beyond this many resolved sessions per account, only the most recently resolved are searched.
MAX_CORPUS = 3000
# A query keeps at most this many distinct terms, the heaviest (weight x IDF) first.
MAX_QUERY_TERMS = 64
K1 = 1.2
B = 0.5
# IDF is computed as if this many more sessions, sharing none of the terms, were indexed: a
# small account (where most sessions may be about printers) then does not make "printer"
# worthless, and relevance means about the same for 10 resolved sessions as for 3,000.
PRIOR_SESSIONS = 200
# How much each field of a resolved session counts.
DOC_FIELDS = {
    "title": 3.0,
    "problem": 2.0,
    "asset": 2.0,
    "steps": 1.0,
    "resolution": 1.0,
    "environment": 0.5,
}
# How much each part of the asking session counts. Its title, problem, asset and question say
# what it is about; its steps, environment and escalation reason are context, which counts when
# a resolved session shares it and is no evidence against one that does not.
CORE_FIELDS = frozenset({"title", "problem", "asset", "question"})
QUERY_FIELDS = {
    "title": 1.0,
    "problem": 1.0,
    "asset": 1.0,
    "question": 2.0,  # asking steers: what is asked outweighs the rest of the session
    "reason": 0.5,
    "steps": 0.5,
    "environment": 0.3,
}
# Calibrated on the evaluation set's calibration half (docs/BENCHMARKS.md, "Retrieval").
SILENCE_BELOW = 0.35
STRONG_FROM = 0.50


class Band:
    STRONG = "strong"
    FAIR = "fair"


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

    def fields(self) -> dict[str, str]:
        return {
            "title": self.title,
            "problem": self.problem,
            "asset": self.asset or "",
            "steps": "\n".join(c for kind, c in self.steps if kind != "assistant"),
            "resolution": self.resolution,
            "environment": "\n".join(str(v) for v in self.environment.values()),
        }


@dataclass(frozen=True)
class Match:
    """One term a suggestion shares with the asking session, as the session wrote it."""

    word: str
    kind: TermKind
    weight: float


@dataclass
class Hit:
    doc: ResolvedDoc
    score: float  # raw BM25, comparable within one query only
    relevance: float = 0.0  # comparable across queries; see the module docstring
    matches: list[Match] = field(default_factory=list)  # heaviest first

    @property
    def url(self) -> str:
        return f"/sessions/{self.doc.session_id}"

    @property
    def band(self) -> str:
        return Band.STRONG if self.relevance >= STRONG_FROM else Band.FAIR

    def why(self, kind: TermKind, limit: int = 4) -> list[str]:
        """The shared words of one kind, heaviest first."""
        return [m.word for m in self.matches if m.kind == kind][:limit]


@dataclass
class Query:
    """The asking session's terms, weighted by the field they came from."""

    weights: dict[str, float]
    surface: dict[str, str]  # term -> how the session wrote it first
    models: frozenset[str]  # terms of its asset field
    core: frozenset[str]  # terms of its core fields (the rest is context)

    @classmethod
    def of(cls, parts: Mapping[str, str | None]) -> Query:
        weights: dict[str, float] = {}
        surface: dict[str, str] = {}
        models: set[str] = set()
        core: set[str] = set()
        for name, text in parts.items():
            weight = QUERY_FIELDS.get(name, 0.0)
            if not text or weight <= 0:
                continue
            for term, word, share in weighted_terms(text):
                weights[term] = max(weights.get(term, 0.0), weight * share)
                surface.setdefault(term, word)
                if name == "asset":
                    models.add(term)
                if name in CORE_FIELDS:
                    core.add(term)
        # A session with nothing in its core fields is judged on all it has.
        return cls(weights, surface, frozenset(models), frozenset(core or weights))

    @classmethod
    def text(cls, text: str) -> Query:
        """A free-text query (a question), weighted like a title."""
        return cls.of({"question": text})


class Index:
    """A field-weighted BM25 index over resolved sessions, built once and searched many times."""

    def __init__(self, docs: Sequence[ResolvedDoc]) -> None:
        self.docs = list(docs)
        self.tf: list[dict[str, float]] = []
        self.length: list[float] = []
        self.models: set[str] = set()
        self.postings: dict[str, list[int]] = {}
        for i, doc in enumerate(self.docs):
            tf: dict[str, float] = {}
            length = 0.0
            for name, text in doc.fields().items():
                weight = DOC_FIELDS[name]
                for term, _, share in weighted_terms(text):
                    tf[term] = tf.get(term, 0.0) + weight * share
                    length += weight * share
                    if name == "asset":
                        self.models.add(term)
            self.tf.append(tf)
            self.length.append(length)
            for term in tf:
                self.postings.setdefault(term, []).append(i)
        n = len(self.docs)
        self.avg_length = (sum(self.length) / n) if n else 0.0
        # BM25's length normalisation per session, computed once.
        self.norm = [K1 * (1 - B + B * ln / (self.avg_length or 1.0)) for ln in self.length]
        prior = n + PRIOR_SESSIONS
        self.idf = {
            term: math.log(1 + (prior - len(ids) + 0.5) / (len(ids) + 0.5))
            for term, ids in self.postings.items()
        }
        # A term no session holds weighs like the rarest: it is evidence of a different problem.
        self.unseen_idf = math.log(1 + (prior + 0.5) / 0.5)

    def search(
        self,
        query: Query | str,
        *,
        limit: int = 5,
        exclude: Iterable[str] = (),
        min_relevance: float = 0.0,
    ) -> list[Hit]:
        """The ``limit`` sessions most like ``query`` with at least ``min_relevance``.

        By relevance, then score, then most recently resolved, then id; sessions sharing no
        term never appear.
        """
        if isinstance(query, str):
            query = Query.text(query)
        if not self.docs or not query.weights:
            return []
        mass = {t: w * self.idf.get(t, self.unseen_idf) for t, w in query.weights.items()}
        kept = sorted(mass, key=lambda t: (-mass[t], t))[:MAX_QUERY_TERMS]
        core_mass = sum(mass[t] for t in kept if t in query.core)
        scores: dict[int, float] = {}
        context: dict[int, float] = {}  # the mass of the context terms each session matches
        for term in kept:
            weight, in_context = mass[term], term not in query.core
            for i in self.postings.get(term, ()):
                tf = self.tf[i][term]
                scores[i] = scores.get(i, 0.0) + weight * tf * (K1 + 1) / (tf + self.norm[i])
                if in_context:
                    context[i] = context.get(i, 0.0) + weight
        excluded = set(exclude)
        ranked: list[tuple[float, float, float, str, int]] = []
        for i, score in scores.items():
            doc = self.docs[i]
            total = core_mass + context.get(i, 0.0)
            relevance = score / ((K1 + 1) * total) if total else 0.0
            if doc.session_id in excluded or relevance < min_relevance or score <= 0:
                continue
            when = doc.resolved_at.timestamp() if doc.resolved_at else 0.0
            ranked.append((-round(relevance, 9), -round(score, 9), -when, doc.session_id, i))
        ranked.sort()
        return [
            Hit(self.docs[i], scores[i], -rel, self._matches(query, i, kept, mass))
            for rel, _, _, _, i in ranked[:limit]
        ]

    def _matches(
        self, query: Query, i: int, kept: list[str], mass: dict[str, float]
    ) -> list[Match]:
        """The query's terms session ``i`` holds, heaviest contribution first."""
        tf_of = self.tf[i]
        parts = [
            (t, mass[t] * tf_of[t] * (K1 + 1) / (tf_of[t] + self.norm[i]))
            for t in kept
            if t in tf_of
        ]
        models = query.models | {t for t, _ in parts if t in self.models}
        ordered = sorted(parts, key=lambda p: (-p[1], p[0]))
        return [Match(query.surface[t], kind_of(t, models=models), round(w, 4)) for t, w in ordered]


def rank(
    docs: Sequence[ResolvedDoc],
    query: Query | str,
    *,
    limit: int = 5,
    exclude: Iterable[str] = (),
    min_relevance: float = 0.0,
) -> list[Hit]:
    """Build an index over ``docs`` and search it once."""
    return Index(docs).search(query, limit=limit, exclude=exclude, min_relevance=min_relevance)


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
