"""Pure ASGI middleware (BaseHTTPMiddleware hides client disconnects from streams)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowpilot.kernel.schemas import NUL_MESSAGE

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = {"http": "http", "https": "https"}
_WS_SCHEMES = {"http": "ws", "https": "wss"}


class ProxyHeaders:
    """Believe ``X-Forwarded-For`` / ``X-Forwarded-Proto`` from trusted proxies only.

    For a peer inside ``trusted`` (``FLOWPILOT_TRUSTED_PROXIES``), ``scope["client"]`` becomes
    the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy (every
    proxy appends the peer it saw, so entries left of that are the client's own claims) and
    ``scope["scheme"]`` the proxy's ``X-Forwarded-Proto``. Any other peer is the client, and
    what it claims in these headers is ignored. The scope is changed in place so the
    live-stream router around the app sees the same client.
    """

    def __init__(self, app: ASGIApp, *, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in trusted
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.trusted and scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and self._is_trusted(client[0]):
                self._rewrite(scope)
        await self.app(scope, receive, send)

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a unix socket peer or garbage: not one of ours
            return False
        return any(address in network for network in self.trusted)

    def _rewrite(self, scope: Scope) -> None:
        forwarded_for: list[str] = []
        proto: str | None = None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded_for.extend(value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                # The nearest proxy's word: the last entry it set or appended.
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
        hops = [_host(hop) for hop in forwarded_for if hop.strip()]
        if hops:
            client = hops[0]  # every hop trusted: the left-most is the best we know
            for hop in reversed(hops):
                if not self._is_trusted(hop):
                    client = hop
                    break
            scope["client"] = (client, 0)
        if proto in _SCHEMES:
            schemes = _WS_SCHEMES if scope["type"] == "websocket" else _SCHEMES
            scope["scheme"] = schemes[proto]


def _host(hop: str) -> str:
    """An X-Forwarded-For entry without the port some proxies add (``1.2.3.4:5``, ``[::1]:5``),
    so one client is one address however many connections it opens."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


class BodySizeLimit:
    """Answer 413 for request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(send, self.max_bytes)


class _BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it (it turns other errors into 400)
    and the app's exception middleware answers 413; if it escapes that, we answer here."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_bytes} bytes")


class RefuseNul:
    """Answer 422 naming the parameter for a NUL character in the path or a query parameter
    (PostgreSQL text cannot hold one; bodies are checked by ``kernel.schemas.StrictInput``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            field = _nul_field(scope)
            if field is not None:
                where, name = field
                error = {"loc": [where, name], "field": name, "msg": NUL_MESSAGE, "type": "nul"}
                await _answer(send, 422, {"detail": [error]})
                return
        await self.app(scope, receive, send)


def _nul_field(scope: Scope) -> tuple[str, str] | None:
    if "\x00" in scope.get("path", ""):
        return ("path", "path")
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return ("query", name.replace("\x00", "") or "query")
    return None


async def _too_large(send: Send, max_bytes: int) -> None:
    await _answer(send, 413, {"detail": f"request body larger than {max_bytes} bytes"})


async def _answer(send: Send, status: int, content: dict[str, object]) -> None:
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
