"""Real parts for notification tests: an aiosmtpd SMTP server and an HTTP webhook receiver."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from flowpilot.kernel.settings import Settings
from flowpilot.runtime.context import AppContext
from tests.servers import free_port


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: Any = None  # the client's (address, port): one per SMTP connection

    @property
    def delivery_id(self) -> str:
        return str(self.message["X-FlowPilot-Delivery"])

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content())  # type: ignore[attr-defined]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Mail] = []
        self.lock = threading.Lock()
        # Hang up right after accepting each message (as a server's idle timeout would).
        self.hang_up_after_each = False
        # A slow server: when set, each message waits (in the server) until it is released.
        self.release: threading.Event | None = None
        self.waiting = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.release is not None:
            with self.lock:
                self.waiting += 1
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            with self.lock:
                self.waiting -= 1
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                Mail(envelope.mail_from, list(envelope.rcpt_tos), msg, session.peer)  # type: ignore[arg-type]
            )
        if self.hang_up_after_each:
            # Runs once the "250" below has been written: the client gets it, then EOF.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    url: str
    collector: _Collector

    @property
    def messages(self) -> list[Mail]:
        with self.collector.lock:
            return list(self.collector.messages)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port, collecting every message."""
    collector = _Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", collector=collector)
    finally:
        controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    delay_seconds: float = 0.0
    # Extra answer headers, e.g. {"Location": ...} with a 3xx status.
    answer_headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def webhook_receiver(settings: Settings) -> Iterator[WebhookReceiver]:
    """A real HTTP server on loopback recording POSTs; set ``.status`` to answer e.g. 500.

    Loopback is an internal address: the private-network guard is switched off explicitly
    for the tests that use this receiver (a test of the guard switches it back on).
    """
    settings.webhook_block_private_networks = False
    port = free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/hooks/flowpilot")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status, delay = receiver.status, receiver.delay_seconds
                extra = dict(receiver.answer_headers)
            if delay:
                time.sleep(delay)
            payload = b"ok" if status < 300 else b"receiver says no"
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ctx(app: Any) -> AppContext:
    """The app's context (settings, clock, sessionmaker): what the background jobs get."""
    context: AppContext = app.state.ctx
    # Deterministic back-off in tests; jitter is covered by its own test.
    context.settings.delivery_backoff_jitter = 0.0
    return context
