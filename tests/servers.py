"""Real FlowPilot server processes for tests: one way to start, wait for and stop them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    port: int
    log_path: Path
    mailbox_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, max_chars: int = 8000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""


def server_env(workdir: Path, url: str, **settings: str) -> dict[str, str]:
    """The process environment: this one, minus any deployment's FlowPilot settings, plus
    test defaults (mailbox in ``workdir``) and ``settings`` (``FLOWPILOT_`` names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPILOT_")}
    env.update(
        {
            "FLOWPILOT_MAILBOX_DIR": str(workdir / "mailbox"),
            "FLOWPILOT_SECRET_KEY": "test",
            "FLOWPILOT_BASE_URL": url,
            "PYTHONUNBUFFERED": "1",
            # A small pool, as in-process tests have (tests/databases.py POOL_SETTINGS).
            "FLOWPILOT_DB_POOL_SIZE": "4",
        }
    )
    env.update(settings)
    return env


def start(workdir: Path, **settings: str) -> LiveServer:
    """Start ``uvicorn --factory flowpilot.runtime.app:create_app`` on a free port (no wait)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "flowpilot.runtime.app:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=server_env(workdir, url, **settings), stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return LiveServer(url, port, log_path, workdir / "mailbox", process)


def wait_ready(server: LiveServer) -> None:
    """Poll /readyz until the process answers 200; fail the test with its log otherwise."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            response = httpx.get(f"{server.url}/readyz", timeout=2.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.1)  # polling a subprocess's readiness, not waiting for an app timer
    stop(server)
    pytest.fail(
        f"server {server.url} did not become ready (last: {last}; exit code "
        f"{server.process.poll()})\n--- server log ---\n{server.log_tail()}",
        pytrace=False,
    )


def stop(server: LiveServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@contextmanager
def running(*workdirs_and_settings: tuple[Path, dict[str, str]]) -> Iterator[list[LiveServer]]:
    """Start several servers at once, wait until all are ready, stop them all afterwards."""
    servers = [start(workdir, **settings) for workdir, settings in workdirs_and_settings]
    try:
        for server in servers:
            wait_ready(server)
        yield servers
    finally:
        for server in servers:
            stop(server)


def start_cli(
    workdir: Path, *args: str, port: int | None = None, source: Path = ROOT, **settings: str
) -> LiveServer:
    """Start ``flowpilot <args>`` as a deployment runs it, without waiting.

    ``serve`` listens on ``port`` (default: a free one; a restart passes the same port again)
    with ``--no-migrate`` unless ``args`` say otherwise; ``worker`` has no URL. The log (appended
    to across restarts) is ``<workdir>/<command>.log``. ``source``: the checkout whose code runs
    (a benchmark compares another one in the same run).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    command = list(args)
    url = ""
    port = port or 0
    if command[0] == "serve":
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        command += ["--host", "127.0.0.1", "--port", str(port)]
        if "--migrate" not in command:
            command.append("--no-migrate")
    log_path = workdir / f"{command[0]}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowpilot.runtime.cli", *command],
            cwd=source, env=server_env(workdir, url or "http://127.0.0.1", **settings), stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return LiveServer(url, port, log_path, workdir / "mailbox", process)


def wait_log(server: LiveServer, text: str, *, after: int = 0) -> None:
    """Wait until the process's log shows ``text`` (past byte ``after``); fail with the log."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if text.encode() in server.log_path.read_bytes()[after:]:
                return
        except OSError:
            pass
        time.sleep(0.1)  # polling a subprocess's log, not waiting for an app timer
    stop(server)
    pytest.fail(
        f"{server.process.args!r} never logged {text!r} (exit code {server.process.poll()})"
        f"\n--- log ---\n{server.log_tail()}",
        pytrace=False,
    )
