"""Webhook channel: Slack-compatible JSON, signed with HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from flowpilot.notifications.email import SendError

SIGNATURE_HEADER = "X-FlowPilot-Signature"
TIMESTAMP_HEADER = "X-FlowPilot-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex hmac_sha256(secret, f"{timestamp}.{body}")>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (also used by the tests): constant-time compare."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()


async def check_public(url: str) -> None:
    """Refuse a URL whose host resolves to a non-public address (SSRF guard).

    Checked right before each send; DNS could still change between this check and the
    connection, so networks that must be unreachable should also be firewalled.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    except OSError as exc:
        raise SendError(f"webhook host does not resolve: {host}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise SendError("webhook URL points to a private network address; not allowed")


async def post(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    message: dict[str, Any],
    delivery_id: str,
    event_type: str,
    now: datetime,
    block_private: bool = False,
) -> None:
    """POST the signed message; any non-2xx answer, timeout or network error is a failure."""
    if block_private:
        await check_public(url)
    body = encode(message)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FlowPilot-Webhook/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "X-FlowPilot-Event": event_type,
        # Receivers dedupe by this id: a retry after a worker crash carries the same one.
        "X-FlowPilot-Delivery": delivery_id,
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise SendError(f"webhook timed out: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise SendError(f"webhook unreachable: {' '.join(str(exc).split())[:200]}") from exc
    if not 200 <= response.status_code < 300:
        snippet = " ".join(response.text.split())[:200]
        raise SendError(f"webhook answered HTTP {response.status_code}: {snippet}".rstrip(": "))
