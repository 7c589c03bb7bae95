"""Email channel: SMTP via aiosmtplib, or a file mailbox (one ``.eml`` per delivery)."""

from __future__ import annotations

import asyncio
import email.policy
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from flowpilot.config import Settings
from flowpilot.notifications.messages import Notice, html_body, plain_text

# RFC 5322 allows 998-character lines; folding at 78 splits subjects in odd places.
_POLICY = email.policy.default.clone(max_line_length=998)


class SendError(Exception):
    """A failed attempt; the message is what the product shows as ``last_error``."""


def _header(value: str) -> str:
    return " ".join(value.split())


def build_email(
    notice: Notice,
    *,
    delivery_id: str,
    to_email: str,
    to_name: str | None,
    settings: Settings,
    now: datetime,
) -> EmailMessage:
    """A multipart/alternative message (plain text + HTML), its Message-ID from the delivery."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = settings.mail_from
    msg["To"] = formataddr((_header(to_name or ""), to_email))
    msg["Subject"] = _header(notice.subject)
    msg["Date"] = format_datetime(now)
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "flowpilot"
    # Same delivery, same Message-ID: a retry after a crash can be de-duplicated downstream.
    msg["Message-ID"] = f"<{delivery_id}@{domain}>"
    msg["X-FlowPilot-Delivery"] = delivery_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(plain_text(notice, greeting_name=to_name))
    msg.add_alternative(html_body(notice, greeting_name=to_name), subtype="html")
    return msg


async def send(msg: EmailMessage, *, delivery_id: str, settings: Settings) -> None:
    """Send through SMTP when configured, else write it to the mailbox folder."""
    if settings.smtp_url:
        await _send_smtp(msg, settings)
    else:
        try:
            await asyncio.to_thread(_write_mailbox, msg, Path(settings.mailbox_dir), delivery_id)
        except OSError as exc:
            raise SendError(f"mailbox unavailable: {exc.strerror or exc}") from exc


def _write_mailbox(msg: EmailMessage, folder: Path, delivery_id: str) -> None:
    # Write then rename: a reader never sees half a message, and a retry replaces, never adds.
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{delivery_id}.eml"
    tmp = folder / f".{delivery_id}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool


def parse_smtp_url(url: str, *, starttls: bool) -> SmtpTarget:
    """``smtp://user:pass@host:port`` (plain or STARTTLS) or ``smtps://`` (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SendError("FLOWPILOT_SMTP_URL must look like smtp://user:pass@host:port")
    use_tls = parts.scheme == "smtps"
    port = parts.port or (465 if use_tls else 587 if starttls else 25)
    return SmtpTarget(
        hostname=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
    )


async def _send_smtp(msg: EmailMessage, settings: Settings) -> None:
    target = parse_smtp_url(settings.smtp_url or "", starttls=settings.smtp_starttls)
    try:
        await aiosmtplib.send(
            # Our own serialization: aiosmtplib's would re-fold headers at 78 characters.
            msg.as_bytes(policy=_POLICY.clone(linesep="\r\n")),
            sender=parseaddr(str(msg["From"]))[1],
            recipients=[a.addr_spec for a in msg["To"].addresses],
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=settings.smtp_starttls and not target.use_tls,
            validate_certs=settings.smtp_validate_certs,
            cert_bundle=settings.smtp_cert_bundle,
            timeout=settings.smtp_timeout_seconds,
        )
    except (
        aiosmtplib.SMTPConnectError,
        aiosmtplib.SMTPConnectTimeoutError,
        aiosmtplib.SMTPServerDisconnected,
        aiosmtplib.SMTPTimeoutError,
    ) as exc:
        raise SendError(f"SMTP server unavailable: {_short(exc)}") from exc
    except aiosmtplib.SMTPException as exc:
        raise SendError(f"SMTP error: {_short(exc)}") from exc
    except (OSError, TimeoutError) as exc:
        raise SendError(f"SMTP server unavailable: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
