"""An escalation email as bytes: multipart/alternative (plain text + HTML), built directly.

The ``email`` package's ``EmailMessage`` costs about as much CPU per message as the whole SMTP
exchange; a notice mail has one fixed shape, so it is written out here instead: ASCII headers
(RFC 2047 words for anything else), quoted-printable UTF-8 bodies, CRLF line ends.
"""

from __future__ import annotations

import binascii
import functools
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

from flowpilot.notifications.messages import Notice, html_body, plain_text


@dataclass(frozen=True)
class Outgoing:
    """One mail ready for SMTP: envelope and the message's bytes (CRLF line ends)."""

    delivery_id: str
    mail_from: str
    rcpt_to: str
    data: bytes


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _text(value: str) -> str:
    """A header value: ASCII as is, anything else as RFC 2047 encoded words."""
    value = _one_line(value)
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=900).encode(linesep="\r\n")


def _address(name: str | None, addr: str) -> str:
    return formataddr((_one_line(name or ""), addr), charset="utf-8")


@functools.lru_cache(maxsize=8)
def _sender(mail_from: str) -> tuple[str, str, str]:
    """The From header, the envelope sender and the Message-ID domain (parsed once)."""
    name, addr = parseaddr(mail_from)
    return _address(name, addr), addr, addr.rpartition("@")[2] or "flowpilot"


def _qp(text: str) -> bytes:
    """Quoted-printable UTF-8 with CRLF line ends (soft breaks keep lines under 77)."""
    lines = text.replace("\r\n", "\n").split("\n")
    encoded = binascii.b2a_qp("\n".join(lines).encode(), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def render_email(
    notice: Notice,
    *,
    delivery_id: str,
    to_email: str,
    to_name: str | None,
    mail_from: str,
    now: datetime,
) -> Outgoing:
    """The notice for one recipient; its Message-ID comes from the delivery (a retry after a
    crash carries the same one, so it can be de-duplicated downstream)."""
    from_header, from_addr, domain = _sender(mail_from)
    boundary = f"=_flowpilot_{delivery_id}"
    headers = (
        f"From: {from_header}\r\n"
        f"To: {_address(to_name, to_email)}\r\n"
        f"Subject: {_text(notice.subject)}\r\n"
        f"Date: {format_datetime(now)}\r\n"
        f"Message-ID: <{delivery_id}@{domain}>\r\n"
        f"X-FlowPilot-Delivery: {delivery_id}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        "\r\n"
    ).encode()
    part = (
        '--{b}\r\nContent-Type: text/{sub}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    data = b"".join(
        (
            headers,
            part.format(b=boundary, sub="plain").encode(),
            _qp(plain_text(notice, greeting_name=to_name)),
            b"\r\n",
            part.format(b=boundary, sub="html").encode(),
            _qp(html_body(notice, greeting_name=to_name)),
            f"\r\n--{boundary}--\r\n".encode(),
        )
    )
    return Outgoing(delivery_id=delivery_id, mail_from=from_addr, rcpt_to=to_email, data=data)
