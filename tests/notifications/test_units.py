"""Small pure pieces: back-off, SMTP URL parsing, webhook signature, message rendering."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from flowpilot.kernel.settings import Settings
from flowpilot.notifications.dispatcher import backoff_seconds
from flowpilot.notifications.email import SendError, parse_smtp_url
from flowpilot.notifications.messages import build_notice, html_body, plain_text
from flowpilot.notifications.webhook import sign


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    s = Settings(
        delivery_backoff_base_seconds=30,
        delivery_backoff_cap_seconds=200,
        delivery_backoff_jitter=0.0,
    )
    assert [backoff_seconds(s, n) for n in range(1, 6)] == [30, 60, 120, 200, 200]
    s.delivery_backoff_jitter = 0.5
    samples = [backoff_seconds(s, 2) for _ in range(200)]
    assert all(30 <= x <= 60 for x in samples)
    assert len(set(samples)) > 1


def test_smtp_url_forms() -> None:
    plain = parse_smtp_url("smtp://mail.example.test", starttls=False)
    assert (plain.hostname, plain.port, plain.use_tls, plain.username) == (
        "mail.example.test",
        25,
        False,
        None,
    )
    assert parse_smtp_url("smtp://mail.example.test", starttls=True).port == 587
    tls = parse_smtp_url("smtps://u%40corp:p%3Ass@mail.example.test", starttls=False)
    assert (tls.port, tls.use_tls, tls.username, tls.password) == (465, True, "u@corp", "p:ss")
    assert parse_smtp_url("smtp://h:2525", starttls=False).port == 2525
    with pytest.raises(SendError):
        parse_smtp_url("http://mail.example.test", starttls=False)


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"text":"hi"}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_x", "1700000000", body) == f"v1={expected}"


def test_message_escapes_html_and_keeps_headers_single_line() -> None:
    notice = build_notice(
        event_type="handoff.created",
        payload={
            "session_title": "Printer <b>offline</b>\nBcc: evil@example.test",
            "urgency": "high",
            "reason": "<script>alert(1)</script>",
        },
        handoff_id="h1",
        handoff_status="claimed",
        base_url="https://fp.example.test/",
    )
    assert "\n" not in notice.subject
    assert notice.link == "https://fp.example.test/escalations/h1"
    html = html_body(notice, greeting_name="Ann <admin>")
    assert "<script>" not in html and "&lt;script&gt;" in html and "Ann &lt;admin&gt;" in html
    text = plain_text(notice, greeting_name=None)
    assert "Status now: claimed." in text and notice.link in text


def test_breach_notice_says_the_target_in_words() -> None:
    notice = build_notice(
        event_type="handoff.breached",
        payload={"session_title": "Core switch down", "urgency": "critical", "reason": "x"},
        handoff_id="h1",
        handoff_status="open",
        base_url="http://fp.test",
    )
    assert notice.subject == "[FlowPilot] not claimed (critical): Core switch down"
    notice = build_notice(
        event_type="handoff.breached",
        payload={
            "session_title": "Core switch down",
            "urgency": "critical",
            "claim_target_minutes": 5,
        },
        handoff_id="h1",
        handoff_status="open",
        base_url="http://fp.test",
    )
    assert notice.subject == "[FlowPilot] not claimed within 5 min (critical): Core switch down"
    assert notice.headline == (
        "Claim target missed: nobody claimed this critical escalation within 5 min"
    )
