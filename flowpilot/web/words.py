"""Words for people: what pages say instead of field ids, validator messages and raw numbers.

- :func:`sentence` turns a field and a validator's message into one sentence
  ("renotify_after_minutes", "Input should be greater than or equal to 1") ->
  "Re-notify after must be at least 1 minute."
- :func:`page_message` does it for a DomainError (``Invalid`` names its field).
- :func:`duration` and :func:`countdown` are the queue's times ("3 min", "claim within 3 min").
- :func:`with_article` picks "a" or "an" ("an engineer").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flowpilot.kernel.errors import DomainError

# Field ids as the forms name them; a field's unit lets a number read as an amount.
FIELD_LABELS: dict[str, tuple[str, str | None]] = {
    "renotify_after_minutes": ("Re-notify after", "minute"),
    "admin_alert_after_minutes": ("Alert admins after", "minute"),
    "claim_target_minutes": ("The claim targets", None),
    "claim_target_minutes.critical": ("The claim target for critical", "minute"),
    "claim_target_minutes.high": ("The claim target for high", "minute"),
    "claim_target_minutes.normal": ("The claim target for normal", "minute"),
    "claim_target_minutes.low": ("The claim target for low", "minute"),
    "idle_claim_nudge_minutes": ("Nudge the claimer after", "minute"),
    "idle_claim_release_minutes": ("Release to the queue after", "minute"),
    "user_id": ("The person", None),
    "webhook_url": ("The webhook URL", None),
    "webhook_enabled": ("The webhook switch", None),
    "webhook_format": ("The message format", None),
    "webhook_secret": ("The signing secret", None),
    "seconds": ("The time", "second"),
    "duration": ("The time", "second"),
    "observed_at": ("Observed at", None),
    "note": ("The note", "character"),
    "days": ("The window", "day"),
    "email": ("Email", None),
    "name": ("Name", None),
    "password": ("Password", None),
    "role": ("Role", None),
    "title": ("Title", None),
    "problem": ("Problem", None),
    "reason": ("Reason", None),
    "resolution": ("Resolution", None),
    "content": ("The step", None),
    "urgency": ("Urgency", None),
    "notify_min_urgency": ("The lowest urgency", None),
    "alert_min_urgency": ("The lowest urgency", None),
    "q": ("The search", None),
    "cursor": ("The page link", None),
}

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Input should be greater than or equal to (\S+)$"), "must be at least {0}"),
    (re.compile(r"^Input should be greater than (\S+)$"), "must be more than {0}"),
    (re.compile(r"^Input should be less than or equal to (\S+)$"), "must be at most {0}"),
    (re.compile(r"^Input should be less than (\S+)$"), "must be less than {0}"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number.*$"), "must be a number"),
    (re.compile(r"^Input should be a valid boolean.*$"), "must be on or off"),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not something this form takes"),
    (re.compile(r"^String should have at least 1 character$"), "must not be empty"),
    (re.compile(r"^String should have at most (\d+) characters?$"), "must be at most {0}"),
    (re.compile(r"^not a valid email address: .*$"), "is not a valid email address"),
    (re.compile(r"^Input should be (.+)$"), "must be {0}"),
]


def _amount(text: str, unit: str | None) -> str:
    """ "1" + minute -> "1 minute", "1440" -> "1,440 minutes"."""
    try:
        number = float(text)
    except ValueError:
        return text
    shown = f"{int(number):,}" if number.is_integer() else f"{number:g}"
    if unit is None:
        return shown
    return f"{shown} {unit}" + ("" if number == 1 else "s")


def sentence(field: str | None, message: str) -> str:
    """One sentence a person can act on, naming the field in words and never by its id."""
    label, unit = FIELD_LABELS.get(field or "", (None, None))
    if label is None and field:
        label = field.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    text = " ".join(str(message or "is not valid").split())
    for pattern, template in _RULES:
        match = pattern.match(text)
        if match is None:
            continue
        if template == "":
            text = text[match.end() :]
            continue
        text = template.format(*(_amount(g, unit) for g in match.groups()))
        break
    if text.startswith(("must", "is ", "needs", "was ")) and label:
        text = f"{label} {text}"
    elif label and not text.lower().startswith(label.lower()):
        text = f"{label}: {text}"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def page_message(exc: DomainError) -> str:
    """What an error page says for a domain error (an ``Invalid`` names its field in words)."""
    field = exc.extra.get("field")
    if isinstance(field, str) and exc.detail.startswith(f"{field}: "):
        return sentence(field, exc.detail[len(field) + 2 :])
    return exc.detail


def validation_sentence(errors: Sequence[Mapping[str, Any]]) -> str:
    """The first of Pydantic's errors as a sentence (forms show one problem at a time)."""
    err = errors[0] if errors else {}
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    return sentence(".".join(loc) or None, str(err.get("msg", "is not valid")))


_RAW_PATH = re.compile(r",?\s*/(?:sessions|escalations|handoffs)/[0-9a-z]{8,}\b")


def no_paths(text: str) -> str:
    """Text for people without the app's raw paths ("..., /sessions/01a2..., ..." -> "...")."""
    return _RAW_PATH.sub("", text)


def with_article(word: str) -> str:
    """ "an engineer", "an admin", "a technician"."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def duration(seconds: float) -> str:
    """ "45 s", "3 min", "1 h 20 min", "2 d 3 h": the queue's short times."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def countdown(h: Any, now: datetime) -> tuple[str, str]:
    """(state, words) for an open escalation against its claim target; ("", "") otherwise.

    state: ``ok`` more than half the target left, ``soon`` half or less, ``late`` past due.
    The browser keeps it moving with the same rules (static/queue_cards.js).
    """
    if getattr(h, "status", None) != "open" or h.claim_due_at is None:
        return "", ""
    left = (h.claim_due_at - now).total_seconds()
    if h.breached_at is not None or left <= 0:
        return "late", f"overdue by {duration(-left)}"
    half = (h.claim_due_at - h.created_at).total_seconds() / 2
    words = f"claim within {duration(60 * math.ceil(left / 60) if left >= 60 else left)}"
    return ("soon" if left <= half else "ok"), words


def idle_note(h: Any, now: datetime) -> str:
    """ "claimed 12 min ago · no action yet" for a claimed escalation whose holder has not added
    a step (counted from the hand-over when it was handed to them); "" otherwise. The browser
    keeps it moving with the same words (static/queue_cards.js)."""
    if getattr(h, "status", None) != "claimed" or getattr(h, "first_action_at", None):
        return ""
    since = getattr(h, "assigned_at", None) or getattr(h, "claimed_at", None)
    if since is None:
        return ""
    verb = "handed over" if getattr(h, "assigned_at", None) else "claimed"
    return f"{verb} {duration((now - since).total_seconds())} ago · no action yet"
