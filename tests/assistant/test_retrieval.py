"""Retrieval on the constructed evaluation set (bench/data/retrieval): rankings, the silence
threshold and why a suggestion matches, with exact expectations."""

from __future__ import annotations

import json

import pytest

from bench import retrieval_corpus
from bench.retrieval import evaluate, load_corpus, load_queries, query_parts, rank_new
from flowpilot.assistant.retrieval import SILENCE_BELOW, Band, Index, Query
from flowpilot.assistant.text import TermKind, kind_of, terms


@pytest.fixture(scope="module")
def index() -> Index:
    return Index(load_corpus())


@pytest.fixture(scope="module")
def queries() -> dict[str, dict]:  # type: ignore[type-arg]
    return {q["id"]: q for q in load_queries()}


def _shown(index: Index, q: dict) -> list[str]:  # type: ignore[type-arg]
    hits = index.search(Query.of(query_parts(q)), limit=3, min_relevance=SILENCE_BELOW)
    return [h.doc.session_id for h in hits]


def test_the_data_files_are_what_their_sources_build() -> None:
    specs = [retrieval_corpus.Spec(**c) for c in retrieval_corpus.CLASSES]
    assert json.loads(retrieval_corpus.OUT.read_text()) == json.loads(
        json.dumps(retrieval_corpus.build(specs))
    )
    assert json.loads(retrieval_corpus.QUERIES.read_text()) == retrieval_corpus.queries()
    assert len(specs) * retrieval_corpus.PER_CLASS == 240


def test_terms_stem_words_and_keep_model_numbers_and_error_codes() -> None:
    got = list(terms("Printing: HP M404dn, TM-T88VI; error 0x80090016 / 550 5.7.1 at 10.3.0.45"))
    assert got == [
        ("print", "Printing"),
        ("hp", "HP"),
        ("m404dn", "M404dn"),
        ("m404", "M404dn"),
        ("tmt88vi", "TM-T88VI"),
        ("tm", "TM"),
        ("t88vi", "T88VI"),
        ("error", "error"),
        ("0x80090016", "0x80090016"),
        ("550", "550"),
        ("571", "5.7.1"),
    ]
    # Spellings of one thing fold together; stopwords and one- or two-digit numbers go.
    assert [t for t, _ in terms("Wi-Fi wireless e-mail 2FA the 10 minutes")] == [
        "wifi",
        "wifi",
        "email",
        "mfa",
        "minut",
    ]
    assert kind_of("zd420") is kind_of("zebra") is kind_of("forticlient") is TermKind.MODEL
    assert kind_of("0x80090016") is kind_of("550") is TermKind.ERROR
    assert kind_of("blank") is TermKind.SYMPTOM


@pytest.mark.parametrize(
    ("qid", "expected"),
    [
        ("a01", ["hp-offline-spooler-4", "hp-offline-spooler-1", "hp-offline-spooler-5"]),
        ("a07", ["hp-firmware-snmp-2", "hp-firmware-snmp-5"]),  # the third is below the line
        ("a11", ["zebra-skip-calibrate-5", "zebra-skip-calibrate-3", "zebra-skip-calibrate-2"]),
        ("a51", ["outlook-password-loop-2", "outlook-password-loop-5", "outlook-password-loop-4"]),
        (
            "a69",
            [
                "verifone-pinpad-disconnect-2",
                "verifone-pinpad-disconnect-5",
                "verifone-pinpad-disconnect-3",
            ],
        ),
        ("a95", ["bsod-dock-driver-5", "bsod-dock-driver-2", "bsod-dock-driver-1"]),
        # No true match: silent, though each shares words with resolved sessions.
        ("n03", []),  # Epson inkjet missing colours (an Epson receipt printer is indexed)
        ("n23", []),  # out of office not sending (a full mailbox "cannot send" is indexed)
        ("n27", []),  # Verifone chip read error (Verifone disconnects are indexed)
        ("x03", []),  # FortiClient refuses the login (FortiClient drops are indexed)
        # An escalated session: its steps and reason widen the query but do not dilute it.
        ("e04", ["ad-lockout-phone-5", "ad-lockout-phone-2", "password-expired-remote-1"]),
        # The known miss: blank Zebra labels look like the skipping-label fix ("blank label").
        ("n01", ["zebra-skip-calibrate-4", "zebra-skip-calibrate-1", "zebra-skip-calibrate-2"]),
    ],
)
def test_rankings_and_silence_on_the_constructed_corpus(index, queries, qid, expected) -> None:  # type: ignore[no-untyped-def]
    assert _shown(index, queries[qid]) == expected


def test_threshold_results_on_both_halves(index, queries) -> None:  # type: ignore[no-untyped-def]
    """The numbers docs/BENCHMARKS.md reports, slot for slot."""
    ranked = rank_new(index, list(queries.values()))
    for split, good_slots, unrelated in (("cal", 150, 2), ("held", 134, 1)):
        part = [q for q in queries.values() if q["split"] == split]
        result = evaluate(part, ranked, SILENCE_BELOW)
        assert (result.n_answerable, result.n_no_match) == (53, 23)
        assert round(result.precision_at_3 * 53 * 3) == good_slots
        assert round(result.unrelated_rate * 23) == unrelated
    # The goals, on the half the threshold was not chosen on.
    assert result.precision_at_3 >= 0.8 and result.unrelated_rate <= 0.05


def test_a_suggestion_says_why_it_matches(index, queries) -> None:  # type: ignore[no-untyped-def]
    q = Query.of(query_parts(queries["a69"]))
    top = index.search(q, limit=1)[0]
    assert top.why(TermKind.MODEL) == ["Verifone", "P400"]
    assert top.why(TermKind.SYMPTOM)[:3] == ["reboot", "pad", "Pin"]
    assert top.band == Band.STRONG and 0 < top.relevance < 1
    fair = index.search(Query.of(query_parts(queries["a01"])), limit=3)[2]
    assert fair.band == Band.FAIR and fair.relevance >= SILENCE_BELOW


def test_the_customer_name_is_no_evidence(index) -> None:  # type: ignore[no-untyped-def]
    by_customer = Query.of({"title": "Acme Dental", "problem": "Acme Dental, Riverside Vets"})
    assert index.search(by_customer, limit=3) == []


def test_relevance_means_the_same_in_a_small_account() -> None:
    """Three resolved printer sessions out of four: "printer" is common, but a fitting session
    still clears the threshold and an unrelated one does not."""
    docs = [d for d in load_corpus() if d.session_id in {
        "hp-offline-spooler-1", "hp-offline-spooler-2", "hp-jam-tray2-1", "dell-not-charging-1"
    }]  # fmt: skip
    small = Index(docs)
    q = Query.of({"title": "Printer offline", "problem": "HP printer offline, spooler stopped"})
    shown = small.search(q, limit=3, min_relevance=SILENCE_BELOW)
    assert [h.doc.session_id for h in shown] == ["hp-offline-spooler-2", "hp-offline-spooler-1"]
    zebra = Query.of({"title": "Zebra printing blank labels", "asset": "Zebra ZD420"})
    assert small.search(zebra, limit=3, min_relevance=SILENCE_BELOW) == []
