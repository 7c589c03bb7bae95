"""Small pure pieces: back-off, SMTP URL parsing, webhook signature, message rendering."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from flowpilot.kernel.settings import Settings
from flowpilot.notifications.dispatcher import backoff_seconds
from flowpilot.notifications.email import SendError, parse_smtp_url
from flowpilot.notifications.messages import build_notice, html_body, plain_text
from flowpilot.notifications.mime import render_email
from flowpilot.notifications.webhook import is_public, new_secret, sign, signing_secrets


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


def test_signature_is_base64_hmac_sha256_of_id_dot_timestamp_dot_body() -> None:
    body = b'{"text":"hi"}'
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    mac = hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    assert sign(secret, "msg_1", "1700000000", body) == "v1," + base64.b64encode(mac).decode()
    assert new_secret().startswith("whsec_") and len(base64.b64decode(new_secret()[6:])) == 32


def test_previous_secret_signs_for_24_hours_after_rotation() -> None:
    rotated = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert signing_secrets("new", "old", rotated, rotated) == ["new", "old"]
    later = rotated + timedelta(hours=23, minutes=59)
    assert signing_secrets("new", "old", rotated, later) == ["new", "old"]
    assert signing_secrets("new", "old", rotated, rotated + timedelta(hours=24)) == ["new"]
    assert signing_secrets("new", None, None, rotated) == ["new"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1%eth0", False),
        ("224.0.0.1", False),
    ],
)
def test_only_global_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


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


def test_rendered_mail_parses_back_with_non_ascii_and_no_header_injection() -> None:
    notice = build_notice(
        event_type="handoff.created",
        payload={
            "session_title": "Drucker offline — Grüße\r\nBcc: evil@example.test",
            "urgency": "high",
        },
        handoff_id="h1",
        handoff_status="open",
        base_url="https://fp.example.test",
    )
    mail = render_email(
        notice,
        delivery_id="d1",
        to_email="ana@example.test",
        to_name='Ana Müller, "Ops"',
        mail_from="FlowPilot Bénévole <flowpilot@fp.example.test>",
        now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )
    assert (mail.mail_from, mail.rcpt_to) == ("flowpilot@fp.example.test", "ana@example.test")
    assert mail.data.isascii() and b"\r\n" in mail.data
    assert all(len(line) <= 998 for line in mail.data.split(b"\r\n"))
    msg = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert (
        msg["Subject"]
        == "[FlowPilot] high escalation: Drucker offline — Grüße Bcc: evil@example.test"
    )
    assert msg["Bcc"] is None
    assert msg["To"].addresses[0].display_name == 'Ana Müller, "Ops"'
    assert msg["From"].addresses[0].display_name == "FlowPilot Bénévole"
    assert msg["Message-ID"] == "<d1@fp.example.test>" and msg["X-FlowPilot-Delivery"] == "d1"
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert "Hello Ana Müller" in plain.get_content()  # type: ignore[attr-defined]
    assert "https://fp.example.test/escalations/h1" in html.get_content()  # type: ignore[attr-defined]
