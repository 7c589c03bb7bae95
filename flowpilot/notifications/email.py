"""Email channel: SMTP via aiosmtplib, or a file mailbox (one ``.eml`` per delivery)."""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from flowpilot.kernel.settings import Settings
from flowpilot.notifications.messages import Notice
from flowpilot.notifications.mime import Outgoing, render_email


class SendError(Exception):
    """A failed attempt; the message is what the product shows as ``last_error``."""


def build_email(
    notice: Notice,
    *,
    delivery_id: str,
    to_email: str,
    to_name: str | None,
    settings: Settings,
    now: datetime,
) -> Outgoing:
    """A multipart/alternative message (plain text + HTML), its Message-ID from the delivery."""
    return render_email(
        notice,
        delivery_id=delivery_id,
        to_email=to_email,
        to_name=to_name,
        mail_from=settings.mail_from,
        now=now,
    )


async def send(
    msg: Outgoing,
    *,
    delivery_id: str,
    settings: Settings,
    connections: SmtpConnections | None = None,
) -> None:
    """Send through SMTP when configured (on ``connections`` if given), else write it to the
    mailbox folder."""
    if settings.smtp_url:
        if connections is None:
            async with SmtpConnections(settings) as own:
                await own.send(msg)
        else:
            await connections.send(msg)
    else:
        try:
            await asyncio.to_thread(_write_mailbox, msg, Path(settings.mailbox_dir), delivery_id)
        except OSError as exc:
            raise SendError(f"mailbox unavailable: {exc.strerror or exc}") from exc


def _write_mailbox(msg: Outgoing, folder: Path, delivery_id: str) -> None:
    # Write then rename: a reader never sees half a message, and a retry replaces, never adds.
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{delivery_id}.eml"
    tmp = folder / f".{delivery_id}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(msg.data)
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


# Connection-level failures: the server is down, went away or stopped answering.
_UNAVAILABLE = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPConnectTimeoutError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    OSError,
    TimeoutError,
)


class SmtpConnections:
    """SMTP connections reused by the sends of one dispatcher round, closed when it ends.

    A round that mails ten seniors opens at most ``delivery_concurrency`` connections (each with
    its TLS handshake and login) instead of ten. A connection is only reused after a clean send;
    any error closes it. A reused connection the server has dropped meanwhile (idle timeout) is
    replaced and the message sent again on a fresh one, once; a fresh connection's failure is the
    delivery's failure (retried later with backoff).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []

    async def __aenter__(self) -> SmtpConnections:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            await _close(client, quit=True)

    async def send(self, msg: Outgoing) -> None:
        if self._idle:
            client = self._idle.pop()
            try:
                await self._send_on(client, msg)
                return
            except _UNAVAILABLE:
                pass  # dropped while idle: one more try on a fresh connection
            except aiosmtplib.SMTPException as exc:
                raise SendError(f"SMTP error: {_short(exc)}") from exc
        try:
            client = await self._connect()
            await self._send_on(client, msg)
        except _UNAVAILABLE as exc:
            raise SendError(f"SMTP server unavailable: {_short(exc)}") from exc
        except aiosmtplib.SMTPException as exc:
            raise SendError(f"SMTP error: {_short(exc)}") from exc

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self.settings
        target = parse_smtp_url(settings.smtp_url or "", starttls=settings.smtp_starttls)
        client = aiosmtplib.SMTP(
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
        try:
            await client.connect()
        except BaseException:
            await _close(client, quit=False)
            raise
        return client

    async def _send_on(self, client: aiosmtplib.SMTP, msg: Outgoing) -> None:
        try:
            await client.sendmail(msg.mail_from, [msg.rcpt_to], msg.data)
        except BaseException:
            await _close(client, quit=False)
            raise
        self._idle.append(client)


async def _close(client: aiosmtplib.SMTP, *, quit: bool) -> None:
    """Close politely (QUIT) after clean use, else just drop the connection."""
    if not client.is_connected:
        return
    try:
        if quit:
            await client.quit()
            return
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        pass
    client.close()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
