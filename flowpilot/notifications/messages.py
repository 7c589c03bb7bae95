"""What a notification says, rendered once per channel from the event's payload."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowpilot.models.accounts import WebhookFormat
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import HandoffStatus


@dataclass(frozen=True)
class Notice:
    subject: str
    headline: str
    lines: list[tuple[str, str]]
    link: str
    status_note: str | None
    # This recipient's one-time "claim from the email" link (None: the notice asks no claim).
    claim_link: str | None = None


def _one_line(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_notice(
    *, event_type: str, payload: dict[str, Any], handoff_id: str, handoff_status: str, base_url: str
) -> Notice:
    """Subject, headline and facts of the notice; the link goes straight to the handoff."""
    title = _one_line(payload.get("session_title") or "untitled session", 120)
    urgency = _one_line(payload.get("urgency") or "normal", 20)
    minutes = payload.get("minutes_open")
    if event_type == EventType.HANDOFF_ASSIGNED:
        by = _one_line(payload.get("assigned_by_name") or "a colleague", 80)
        subject = f"[FlowPilot] handed to you ({urgency}): {title}"
        headline = f"{by} handed you this {urgency} escalation: {title}"
    elif event_type == EventType.HANDOFF_IDLE_NUDGED:
        subject = f"[FlowPilot] you claimed this {minutes} min ago, no action yet: {title}"
        headline = f"You claimed this {minutes} min ago and have not added a step yet: {title}"
    elif event_type == EventType.HANDOFF_RELEASED:
        subject = f"[FlowPilot] back in the queue, nobody acted ({urgency}): {title}"
        headline = f"Back in the queue: claimed {minutes} min ago and nobody acted: {title}"
    elif event_type == EventType.HANDOFF_BREACHED:
        target = payload.get("claim_target_minutes")
        within = f" within {target} min" if target else ""
        subject = f"[FlowPilot] not claimed{within} ({urgency}): {title}"
        headline = f"Claim target missed: nobody claimed this {urgency} escalation{within}"
    elif event_type == EventType.HANDOFF_ADMIN_ALERTED:
        subject = f"[FlowPilot] unclaimed for {minutes} min: {title}"
        headline = f"Escalation unclaimed for {minutes} min: {title}"
    elif event_type == EventType.HANDOFF_RENOTIFIED:
        subject = f"[FlowPilot] still unclaimed after {minutes} min ({urgency}): {title}"
        headline = f"Still unclaimed after {minutes} min: {title}"
    else:
        subject = f"[FlowPilot] {urgency} escalation: {title}"
        headline = f"New {urgency} escalation: {title}"
    lines = [
        ("Urgency", urgency),
        ("Reason", _one_line(payload.get("escalation_reason") or payload.get("reason"), 500)),
        ("Escalated by", _one_line(payload.get("escalated_by_name") or "a technician")),
    ]
    for key, label in (("customer", "Customer"), ("asset", "Asset")):
        if payload.get(key):
            lines.append((label, _one_line(payload[key])))
    status_note = None
    if handoff_status != HandoffStatus.OPEN:
        status_note = f"Status now: {handoff_status}."
    return Notice(
        subject=subject,
        headline=headline,
        lines=lines,
        link=f"{base_url.rstrip('/')}/escalations/{handoff_id}",
        status_note=status_note,
    )


def plain_text(notice: Notice, *, greeting_name: str | None) -> str:
    out = [f"Hello {greeting_name}," if greeting_name else "Hello,", "", notice.headline, ""]
    out += [f"{label}: {value}" for label, value in notice.lines]
    if notice.status_note:
        out += ["", notice.status_note]
    if notice.claim_link:
        out += ["", f"Claim it now (no password; works once, for 24 hours): {notice.claim_link}"]
    out += ["", f"Open the handoff: {notice.link}", "", "-- FlowPilot"]
    return "\n".join(out) + "\n"


def html_body(notice: Notice, *, greeting_name: str | None) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><th align='left' style='padding:2px 12px 2px 0'>{e(label)}</th>"
        f"<td>{e(value)}</td></tr>"
        for label, value in notice.lines
    )
    note = f"<p><em>{e(notice.status_note)}</em></p>" if notice.status_note else ""
    greeting = f"Hello {e(greeting_name)}," if greeting_name else "Hello,"
    claim = ""
    if notice.claim_link:
        claim = (
            f"<p><a href='{e(notice.claim_link, quote=True)}' "
            "style='display:inline-block;padding:8px 14px;background:#067647;color:#fff;"
            "text-decoration:none;border-radius:4px'>Claim it now</a> "
            "<span style='color:#666;font-size:12px'>no password; works once, for 24 hours"
            "</span></p>"
        )
    return (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<p>{greeting}</p><h2 style='font-size:18px'>{e(notice.headline)}</h2>"
        f"<table>{rows}</table>{note}{claim}"
        f"<p><a href='{e(notice.link, quote=True)}' "
        "style='display:inline-block;padding:8px 14px;background:#1f5fbf;color:#fff;"
        "text-decoration:none;border-radius:4px'>Open the handoff</a></p>"
        f"<p style='color:#666;font-size:12px'>{e(notice.link)}</p>"
        "</body></html>"
    )


def slack_message(
    notice: Notice, *, event_type: str, event_id: int, payload: dict[str, Any]
) -> dict[str, Any]:
    """Slack-compatible JSON (``text`` + ``blocks``) plus the raw event under ``flowpilot``."""

    def mrkdwn(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{mrkdwn(v)}"} for label, v in notice.lines]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{mrkdwn(notice.headline)}*"}},
        {"type": "section", "fields": fields[:10]},
    ]
    if notice.status_note:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": notice.status_note}]}
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the handoff"},
                    "url": notice.link,
                }
            ],
        }
    )
    return {
        "text": f"{notice.headline} {notice.link}",
        "blocks": blocks,
        "flowpilot": {"event_id": event_id, "type": event_type, "handoff": payload},
    }


def teams_message(
    notice: Notice, *, event_type: str, event_id: int, payload: dict[str, Any]
) -> dict[str, Any]:
    """A Microsoft Teams (Office 365 connector / Workflows) MessageCard."""
    section: dict[str, Any] = {
        "activityTitle": notice.headline,
        "facts": [{"name": label, "value": value} for label, value in notice.lines],
        "markdown": False,
    }
    if notice.status_note:
        section["text"] = notice.status_note
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": notice.subject,
        "themeColor": _THEME.get(str(payload.get("urgency")), "1F5FBF"),
        "title": notice.headline,
        "sections": [section],
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": "Open the handoff",
                "targets": [{"os": "default", "uri": notice.link}],
            }
        ],
    }


_THEME = {"critical": "C62828", "high": "EF6C00", "normal": "1F5FBF", "low": "607D8B"}


def generic_message(
    *, event_type: str, event_id: int, created_at: datetime, payload: dict[str, Any], link: str
) -> dict[str, Any]:
    """The event itself, in the Standard Webhooks payload shape (type, timestamp, data)."""
    return {
        "id": event_id,
        "type": event_type,
        "timestamp": created_at.isoformat().replace("+00:00", "Z"),
        "data": {**payload, "link": link},
    }


def webhook_message(
    notice: Notice,
    *,
    fmt: str,
    event_type: str,
    event_id: int,
    created_at: datetime,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The account webhook's body in its chosen format (unknown formats: Slack)."""
    if fmt == WebhookFormat.TEAMS:
        return teams_message(notice, event_type=event_type, event_id=event_id, payload=payload)
    if fmt == WebhookFormat.GENERIC:
        return generic_message(
            event_type=event_type,
            event_id=event_id,
            created_at=created_at,
            payload=payload,
            link=notice.link,
        )
    return slack_message(notice, event_type=event_type, event_id=event_id, payload=payload)


def test_message(
    *, fmt: str, account_name: str, account_id: str, sent_by: str, now: datetime
) -> dict[str, Any]:
    """What "Send a test message" posts, in the account's format."""
    text = f"FlowPilot test message for {account_name}: this webhook works."
    if fmt == WebhookFormat.TEAMS:
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": text,
            "title": "FlowPilot test message",
            "text": text,
        }
    if fmt == WebhookFormat.GENERIC:
        return {
            "id": 0,
            "type": "test",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"account_id": account_id, "sent_by": sent_by, "text": text},
        }
    return {
        "text": text,
        "flowpilot": {"type": "test", "account_id": account_id, "sent_by": sent_by},
    }
