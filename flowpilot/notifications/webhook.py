"""Webhook channel: Standard Webhooks signing, the private-network guard, one POST per attempt.

Signing follows https://www.standardwebhooks.com: ``webhook-id`` (the delivery id, the same on
every retry), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: one
``v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`` per secret still honoured,
space-separated. A secret reads ``whsec_<base64 key>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from flowpilot.notifications.email import SendError

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
# After a rotation the previous secret still signs for this long (receivers switch over).
ROTATION_OVERLAP = timedelta(hours=24)
PRIVATE_ADDRESS = "webhook URL points to a private network address; not allowed"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (what ``standardwebhooks.Webhook`` accepts)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    # Decoded as the standardwebhooks libraries do (padding added, stray characters dropped),
    # so a secret made before Standard Webhooks signing verifies there too.
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw + "==") or raw.encode()
    except (binascii.Error, ValueError):
        return raw.encode()


def sign(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64 hmac_sha256(key, f"{msg_id}.{timestamp}.{body}")>``."""
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signing_secrets(
    current: str, previous: str | None, rotated_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets a message is signed with now: the current one, and the previous one for
    ``ROTATION_OVERLAP`` after a rotation."""
    out = [current]
    if previous and rotated_at is not None and now < rotated_at + ROTATION_OVERLAP:
        out.append(previous)
    return out


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


RESOLVE_TIMEOUT_SECONDS = 5.0


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself); a resolver that
    does not answer in time is an ``OSError`` like a name that does not exist."""
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=1)  # TCP
    except TimeoutError as exc:
        raise OSError(f"resolving {host} timed out") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def check_url_at_save(url: str) -> str | None:
    """Why ``url`` may not be saved (it resolves to an internal address), or None.

    A name that does not resolve now is accepted (it is checked again before every send).
    """
    host, port = _target(url)
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError):
        return None
    if not all(is_public(a) for a in addresses):
        return "points to a loopback, private, link-local or otherwise internal address"
    return None


async def pinned_public(url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Resolve ``url``'s host once, refuse any internal address, and return the URL with the
    checked address in place of the name (the Host header and TLS name stay the name's), so
    the connection goes exactly where the check looked."""
    parts = urlsplit(url)
    host, port = _target(url)
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise SendError(f"webhook host does not resolve: {host}") from exc
    if not addresses or not all(is_public(a) for a in addresses):
        raise SendError(PRIVATE_ADDRESS)
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    host_header = parts.netloc.rpartition("@")[2]
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return pinned, {"Host": host_header}, extensions


async def post(
    client: httpx.AsyncClient,
    *,
    url: str,
    secrets_: Sequence[str],
    message: dict[str, Any],
    delivery_id: str,
    event_type: str,
    now: datetime,
    block_private: bool = True,
) -> None:
    """POST the signed message; any non-2xx answer (a redirect too: never followed), timeout
    or network error is a failure. The answer's body is never read into the error."""
    target = url
    extra_headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if block_private:
        target, extra_headers, extensions = await pinned_public(url)
    body = encode(message)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FlowPilot-Webhook/2",
        # Receivers dedupe by this id: a retry after a worker crash carries the same one.
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: " ".join(sign(s, delivery_id, timestamp, body) for s in secrets_),
        "X-FlowPilot-Event": event_type,
        **extra_headers,
    }
    try:
        response = await client.post(
            target, content=body, headers=headers, extensions=extensions or None
        )
    except httpx.TimeoutException as exc:
        raise SendError(f"webhook timed out: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise SendError(f"webhook unreachable: {' '.join(str(exc).split())[:200]}") from exc
    if not 200 <= response.status_code < 300:
        raise SendError(f"webhook answered HTTP {response.status_code}")
