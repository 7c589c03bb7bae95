"""Words for people: errors as sentences without field ids, times, articles, no raw paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx

from flowpilot.kernel.errors import Invalid
from flowpilot.web import words
from tests.factories import Factory

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_validator_messages_become_sentences_naming_the_field_in_words() -> None:
    cases = {
        ("renotify_after_minutes", "Input should be greater than or equal to 1"): (
            "Re-notify after must be at least 1 minute."
        ),
        ("admin_alert_after_minutes", "Input should be less than or equal to 10080"): (
            "Alert admins after must be at most 10,080 minutes."
        ),
        ("claim_target_minutes.critical", "Input should be a valid integer"): (
            "The claim target for critical must be a whole number."
        ),
        ("email", "Value error, not a valid email address: An email address must have an @."): (
            "Email is not a valid email address."
        ),
        ("title", "String should have at most 200 characters"): (
            "Title must be at most 200."  # no unit known for a title: the number alone
        ),
        ("webhook_url", "Value error, must be an http:// or https:// URL"): (
            "The webhook URL must be an http:// or https:// URL."
        ),
        ("note", "Field required"): "The note is required.",
    }
    for (field, message), expected in cases.items():
        assert words.sentence(field, message) == expected


def test_a_domain_error_page_message_has_no_field_id() -> None:
    exc = Invalid("seconds", "must be seconds (90), minutes and seconds (1:30) or h:mm:ss")
    assert words.page_message(exc) == (
        "The time must be seconds (90), minutes and seconds (1:30) or h:mm:ss."
    )


def test_articles_durations_and_paths() -> None:
    assert words.with_article("engineer") == "an engineer"
    assert words.with_article("admin") == "an admin"
    assert words.with_article("technician") == "a technician"
    assert [words.duration(s) for s in (0, 45, 60, 179, 3600, 3660, 90000)] == [
        "0 s",
        "45 s",
        "1 min",
        "2 min",
        "1 h",
        "1 h 1 min",
        "1 d 1 h",
    ]
    text = 'Roll back the driver (from "Printer stuck", /sessions/01a2339a6a8200002931bd550b)'
    assert words.no_paths(text) == 'Roll back the driver (from "Printer stuck")'


def test_countdown_words_and_states() -> None:
    def h(**kw: object) -> SimpleNamespace:
        base = {
            "status": "open",
            "created_at": T,
            "claim_due_at": T + timedelta(minutes=5),
            "breached_at": None,
        }
        return SimpleNamespace(**{**base, **kw})

    assert words.countdown(h(), T) == ("ok", "claim within 5 min")
    assert words.countdown(h(), T + timedelta(minutes=2, seconds=29)) == (
        "ok",
        "claim within 3 min",
    )
    assert words.countdown(h(), T + timedelta(minutes=2, seconds=30)) == (
        "soon",
        "claim within 3 min",
    )
    assert words.countdown(h(), T + timedelta(minutes=4, seconds=20)) == (
        "soon",
        "claim within 40 s",
    )
    assert words.countdown(h(), T + timedelta(minutes=7)) == ("late", "overdue by 2 min")
    assert words.countdown(h(status="claimed"), T) == ("", "")


async def test_settings_page_errors_are_sentences(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(role="admin")
    client.cookies.set("flowpilot_session", admin.token)
    for form, expected in (
        ({"renotify_after_minutes": "0"}, "Re-notify after must be at least 1 minute."),
        (
            {"claim_target_low": "20000"},
            "The claim target for low must be at most 10,080 minutes.",
        ),
        ({"claim_target_high": "soon"}, "The claim target for high must be a whole number."),
        (
            {"renotify_after_minutes": "40", "admin_alert_after_minutes": "30"},
            "Alert admins after must be longer than the re-notify time (40 minutes).",
        ),
    ):
        r = await client.post("/settings/account", data={"csrf_token": admin.csrf_token, **form})
        assert r.status_code == 422, r.text
        assert expected in r.text, (form, r.text[r.text.find("settings-error") :][:300])
        assert "_minutes:" not in r.text and "claim_target_" not in r.text.split("<form")[0]
    ok = await client.post(
        "/settings/account",
        data={"csrf_token": admin.csrf_token, "claim_target_critical": "3"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    shown = (await client.get("/settings")).text
    assert 'id="claim_target_critical" name="claim_target_critical"' in shown
    assert 'value="3"' in shown
    client.cookies.clear()
