"""Terms for retrieval: stemmed words, model numbers and error codes, each with its kind.

"Printing" and "prints" both become ``print``; ``TM-T88VI``, ``TM T88VI``-style compounds also
give the joined ``tmt88vi`` so a model number matches however it was typed; a few spellings are
folded (wi-fi/wireless, e-mail, 2FA/MFA). Numbers of one or two digits and IP addresses are
dropped (they name nothing that recurs). Each term remembers the first way it was written, for
showing why two sessions match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache

import snowballstemmer

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours also get got gets still tried try trying issue problem please help
    since today yesterday morning every keep keeps time times day days now says say said
    user users customer staff people someone everyone anyone nobody one two new old anymore
    won isn doesn didn don aren couldn wouldn haven hasn wasn weren shouldn wont cant doesnt
    isnt dont didnt last week weeks hour hours come comes came go goes going went nothing
    anything everything something thing things totally really just lot way
    """.split()  # noqa: SIM905
)

# Spellings of one thing, folded before stemming (keys are lower-case words or joined compounds).
SYNONYMS = {
    "wi-fi": "wifi",
    "wireless": "wifi",
    "wlan": "wifi",
    "e-mail": "email",
    "emails": "email",
    "2fa": "mfa",
    "multi-factor": "mfa",
    "multifactor": "mfa",
    "two-factor": "mfa",
    "logon": "login",
    "log-in": "login",
    "sign-in": "login",
    "signin": "login",
    "notebook": "laptop",
    "pin-pad": "pinpad",
    "bsod": "bluescreen",
}

# Makers and product lines: a shared one is a "model" reason, not a symptom.
BRANDS = frozenset(
    """hp zebra brother canon ricoh epson kyocera lexmark xerox dell lenovo thinkpad latitude
    xps elitebook probook ideapad macbook apple ipad iphone cisco anyconnect asa fortigate
    forticlient fortinet unifi ubiquiti aruba sonicwall meraki netgear tp-link draytek verifone
    ingenico honeywell star square lightspeed okta microsoft windows outlook exchange teams
    office intune entra laserjet imagerunner designjet workforce ecosys versalink realtek intel
    displaylink google gmail bitwarden deco 365""".split()  # noqa: SIM905
)

# Phrases written as several words that mean one term.
PHRASES = {
    "active directory": "AD",
    "blue screen": "bluescreen",
    "sign in": "login",
    "log in": "login",
    "multi factor": "MFA",
    "two factor": "MFA",
}
_PHRASE = re.compile(r"\b(" + "|".join(re.escape(p) for p in PHRASES) + r")\b", re.I)
_FAMILY = re.compile(r"([a-z]+\d+)[a-z]+")  # m404dn -> m404, so "M404" matches "M404dn"
_TOKEN = re.compile(r"[a-z0-9]+(?:[._/-][a-z0-9]+)*")
_WORD = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+|" + _TOKEN.pattern, re.I)
_SEP = re.compile(r"[._/-]")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_MODEL = re.compile(r"[a-z]+\d[a-z0-9]*")  # letters then a digit: m404dn, zd420, ax201
_ERROR = re.compile(r"0x[0-9a-f]+|\d[a-z0-9]*|[a-z0-9]*_[a-z0-9_]*")
_stemmer = snowballstemmer.stemmer("english")


class TermKind(StrEnum):
    """Why a shared term counts: the same model or maker, the same error text, the symptom."""

    MODEL = "model"
    ERROR = "error"
    SYMPTOM = "symptom"


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    word = SYNONYMS.get(word, word)
    if not word.isalpha() or word in BRANDS:
        return word
    return str(_stemmer.stemWord(word))


def _keep(word: str) -> bool:
    if word in STOPWORDS or len(word) < 2:
        return False
    return not (word.isdigit() and len(word) < 3)


# What the extra terms of one written model number or code count (TM-T88VI gives tmt88vi, and
# tm and t88vi at this share each): one written thing stays about one piece of evidence.
EXPANSION_SHARE = 0.4


def terms(text: str) -> Iterator[tuple[str, str]]:
    """``(term, surface)`` pairs of ``text`` (see :func:`weighted_terms`)."""
    for term, surface, _ in weighted_terms(text):
        yield term, surface


def weighted_terms(text: str) -> Iterator[tuple[str, str, float]]:
    """``(term, surface, share)``: stemmed words, joined compounds and their parts.

    The surface is the word as written (its case kept), for showing why sessions match; the
    share is 1 except for the extra terms a model number or code expands into.
    """
    text = _PHRASE.sub(lambda m: PHRASES[m.group(1).lower()], text)
    for written in _WORD.findall(text):
        raw = written.lower()
        if "_" in raw:
            # Underscored identifiers (DRIVER_IRQL_NOT_LESS_OR_EQUAL) are error text: whole.
            yield raw, written, 1.0
            continue
        if _IPV4.fullmatch(raw):
            continue
        if not _SEP.search(raw):
            stem = _stem(raw) if _keep(raw) else ""
            if stem and stem not in STOPWORDS:
                yield stem, written, 1.0
                family = _FAMILY.fullmatch(raw)
                if family:
                    yield family.group(1), written, EXPANSION_SHARE
            continue
        joined = _SEP.sub("", raw)
        folded = SYNONYMS.get(raw) or SYNONYMS.get(joined)
        if folded:
            yield folded, written, 1.0
            continue
        # Words joined by a dash (print-spooler) are words; a code (TM-T88VI) is one thing.
        share = EXPANSION_SHARE if any(c.isdigit() for c in raw) else 1.0
        if len(joined) > 1:
            yield joined, written, 1.0
        for part, part_written in zip(_SEP.split(raw), _SEP.split(written), strict=True):
            stem = _stem(part) if _keep(part) else ""
            if stem and stem not in STOPWORDS:
                yield stem, part_written, share


def kind_of(term: str, *, models: frozenset[str] | set[str] = frozenset()) -> TermKind:
    """A term's kind; ``models`` are the terms of the sessions' asset fields."""
    if term in models or term in BRANDS or _MODEL.fullmatch(term):
        return TermKind.MODEL
    if _ERROR.fullmatch(term):
        return TermKind.ERROR
    return TermKind.SYMPTOM
