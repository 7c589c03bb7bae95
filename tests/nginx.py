"""Debian's nginx in front of test servers, run from ``deploy/nginx.conf`` itself.

The site file is used as shipped; only its upstream addresses and listen port are replaced (a
change that makes those replacements miss fails loudly). nginx runs in the foreground from its
own temporary directory (config, pid, logs, temp files) on a free loopback port, as an
unprivileged user when the tests run as root; the system service is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port

SITE = ROOT / "deploy" / "nginx.conf"
NGINX = "/usr/sbin/nginx"
UPSTREAM = re.compile(r"^upstream flowpilot \{\n(?P<body>.*?)^\}", re.M | re.S)
SERVER_LINE = re.compile(r"^(?P<indent>\s*)server\s+\S+(?P<options>[^;]*);\n", re.M)
LISTEN = re.compile(r"^(?P<indent>\s*)listen\s+80;", re.M)

MAIN = """\
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    # Tests only: which replica answered (the site's locations set no add_header of their own).
    add_header X-Upstream-Addr $upstream_addr always;
    include {dir}/flowpilot.conf;
}}
"""


def site_config(upstreams: list[str], port: int) -> str:
    """``deploy/nginx.conf`` with ``upstreams`` (``host:port``) and ``127.0.0.1:port``."""
    text = SITE.read_text()
    block = UPSTREAM.search(text)
    assert block, f"{SITE}: no `upstream flowpilot {{ ... }}` block"
    lines = list(SERVER_LINE.finditer(block["body"]))
    assert lines, f"{SITE}: the upstream block names no server"
    first = lines[0]
    servers = "".join(f"{first['indent']}server {u}{first['options']};\n" for u in upstreams)
    body = SERVER_LINE.sub("", block["body"])
    text = text[: block.start("body")] + servers + body + text[block.end("body") :]
    text, listens = LISTEN.subn(rf"\g<indent>listen 127.0.0.1:{port};", text)
    assert listens == 1, f"{SITE}: expected exactly one `listen 80;`"
    return text


def nginx_missing() -> str | None:
    if os.path.exists(NGINX):
        return None
    return "nginx is missing: install Debian's nginx package (`make test` does when root)"


@dataclass
class Nginx:
    url: str
    port: int
    dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            return (self.dir / "error.log").read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""


def _unprivileged() -> list[str]:
    """Drop root for nginx (its master would otherwise run as root)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _wait_listening(proxy: Nginx) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proxy.process.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", proxy.port)) == 0:
                return
        time.sleep(0.05)  # polling a subprocess's port, not waiting for an app timer
    stop(proxy)
    pytest.fail(f"nginx did not start\n--- error.log ---\n{proxy.log_tail()}", pytrace=False)


def start(upstreams: list[str], port: int | None = None) -> Nginx:
    """nginx on ``port`` (default: a free one) in front of ``upstreams``, once it listens."""
    missing = nginx_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="fp-nginx-"))
    (workdir / "tmp").mkdir()
    (workdir / "flowpilot.conf").write_text(site_config(upstreams, port))
    (workdir / "nginx.conf").write_text(MAIN.format(dir=workdir))
    drop = _unprivileged()
    if drop:
        for path in (workdir, workdir / "tmp"):
            shutil.chown(path, "nobody", "nogroup")
        workdir.chmod(0o755)
    command = [
        *drop, NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
        "-e", str(workdir / "error.log"),
    ]  # fmt: skip
    check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    assert check.returncode == 0, f"nginx -t refused the generated config:\n{check.stderr}"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    proxy = Nginx(f"http://127.0.0.1:{port}", port, workdir, process)
    _wait_listening(proxy)
    return proxy


def stop(proxy: Nginx) -> None:
    if proxy.process.poll() is None:
        proxy.process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            proxy.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.process.kill()
            proxy.process.wait(timeout=5)
    shutil.rmtree(proxy.dir, ignore_errors=True)


@contextmanager
def running(upstreams: list[str], port: int | None = None) -> Iterator[Nginx]:
    proxy = start(upstreams, port)
    try:
        yield proxy
    finally:
        stop(proxy)
