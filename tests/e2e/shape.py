"""The production shape as real processes: nginx (from ``deploy/nginx.conf``) in front of two
``flowpilot serve`` replicas (``FLOWPILOT_RUN_WORKERS=false``) and one ``flowpilot worker``, on
PostgreSQL and Redis, after a one-shot ``flowpilot db upgrade``; mail to a slow SMTP server.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests import nginx, servers
from tests.servers import ROOT, LiveServer, free_port


class SlowSmtp:
    """An aiosmtpd handler that takes ``delay`` s per message, like a busy relay.

    Mail to ``@<hold_domain>`` beyond the first ``allow`` of them waits before its "250" until
    ``release()``: a stalled server, so that deliveries are in flight when the sender dies. A
    message counts as accepted only once its "250" is due; one whose client went away first
    (aiosmtpd cancels the handler) is not accepted, as a real MTA would not keep it.
    """

    def __init__(self, *, delay: float, hold_domain: str) -> None:
        self.delay = delay
        self.hold_domain = hold_domain
        self.lock = threading.Lock()
        self.accepted: list[EmailMessage] = []
        self.aborted = 0
        self.waiting = 0
        self.allow: int | None = None  # None: nothing is held
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, once it runs
        self._released = asyncio.Event()

    def hold_after(self, allow: int) -> None:
        with self.lock:
            self.allow = allow
            self._released = asyncio.Event()  # waited on in the server's loop only

    def release(self) -> None:
        with self.lock:
            self.allow = None
            released = self._released
        if self.loop is not None:
            self.loop.call_soon_threadsafe(released.set)

    def _must_wait(self, rcpt_tos: list[str]) -> asyncio.Event | None:
        with self.lock:
            if self.allow is None or not any(r.endswith(f"@{self.hold_domain}") for r in rcpt_tos):
                return None
            if self.allow > 0:
                self.allow -= 1
                return None
            self.waiting += 1
            return self._released

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        try:
            await asyncio.sleep(self.delay)
            released = self._must_wait(list(envelope.rcpt_tos))
            if released is not None:
                try:
                    await released.wait()
                finally:
                    with self.lock:
                        self.waiting -= 1
        except asyncio.CancelledError:  # the client hung up before its "250"
            with self.lock:
                self.aborted += 1
            raise
        with self.lock:
            self.accepted.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.accepted)


@contextmanager
def smtp_server(*, delay: float, hold_domain: str) -> Iterator[tuple[str, SlowSmtp]]:
    handler = SlowSmtp(delay=delay, hold_domain=hold_domain)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.loop = controller.loop
    try:
        yield f"smtp://127.0.0.1:{port}", handler
    finally:
        handler.release()
        controller.stop()


@dataclass
class Shape:
    proxy: nginx.Nginx
    replicas: list[LiveServer]
    worker: LiveServer
    workdir: Path
    settings: dict[str, str] = field(repr=False)

    def replica_at(self, address: str) -> LiveServer:
        """The replica nginx names in ``$upstream_addr`` (its last try when it tried several)."""
        last = address.split(",")[-1].strip()
        return next(r for r in self.replicas if f"127.0.0.1:{r.port}" == last)

    def other_than(self, replica: LiveServer) -> LiveServer:
        return next(r for r in self.replicas if r is not replica)

    def start_replica(self, index: int) -> None:
        port = self.replicas[index].port if index < len(self.replicas) else None
        replica = servers.start_cli(
            self.workdir / f"web{index + 1}", "serve", port=port, **self.settings,
            FLOWPILOT_RUN_WORKERS="false",
        )  # fmt: skip
        if index < len(self.replicas):
            self.replicas[index] = replica
        else:
            self.replicas.append(replica)

    def start_worker(self) -> None:
        log = self.workdir / "worker" / "worker.log"
        offset = log.stat().st_size if log.exists() else 0
        self.worker = servers.start_cli(self.workdir / "worker", "worker", **self.settings)
        servers.wait_log(self.worker, "worker running", after=offset)

    def revive(self) -> None:
        """Restart whatever an earlier test killed, on the same ports, and wait for it."""
        for index, replica in enumerate(self.replicas):
            if replica.process.poll() is not None:
                self.start_replica(index)
                servers.wait_ready(self.replicas[index])
        if self.worker.process.poll() is not None:
            self.start_worker()


def migrate_once(workdir: Path, settings: dict[str, str]) -> None:
    """The deployment's one-shot migration: ``flowpilot db upgrade``."""
    env = servers.server_env(workdir, "http://127.0.0.1", **settings)
    done = subprocess.run(
        [sys.executable, "-m", "flowpilot.runtime.cli", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "database is up to date" in done.stdout, done.stderr


@contextmanager
def running(workdir: Path, settings: dict[str, str]) -> Iterator[Shape]:
    workdir.mkdir(parents=True, exist_ok=True)
    migrate_once(workdir, settings)
    proxy_port = free_port()
    settings = {**settings, "FLOWPILOT_BASE_URL": f"http://127.0.0.1:{proxy_port}"}
    shape = Shape(
        proxy=None,  # type: ignore[arg-type]
        replicas=[],
        worker=None,  # type: ignore[arg-type]
        workdir=workdir,
        settings=settings,
    )
    try:
        shape.start_replica(0)
        shape.start_replica(1)
        shape.start_worker()
        for replica in shape.replicas:
            servers.wait_ready(replica)
        shape.proxy = nginx.start([f"127.0.0.1:{r.port}" for r in shape.replicas], proxy_port)
        yield shape
    finally:
        if shape.proxy is not None:
            nginx.stop(shape.proxy)
        for process in (*shape.replicas, shape.worker):
            if process is not None:
                servers.stop(process)
