"""Real parts for notification tests: an aiosmtpd SMTP server and an HTTP webhook receiver.

What they collect (``SmtpServer``, ``Mail``, ``WebhookReceiver``, ``Received``) is in
``tests/notifications/helpers.py``, for tests to import.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from flowpilot.kernel.settings import Settings
from flowpilot.runtime.context import AppContext
from tests.notifications.helpers import Collector, Received, SmtpServer, WebhookReceiver
from tests.servers import free_port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port, collecting every message."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", collector=collector)
    finally:
        controller.stop()


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
