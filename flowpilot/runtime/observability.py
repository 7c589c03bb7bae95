"""Process metrics beyond the domains' own: HTTP request durations, the bus's publish time, the
database pool in use, and the ``/metrics`` answer (optionally behind a bearer token), which the
worker also serves on its own port.

Kept apart from ``middleware.py``: the histogram is one small ASGI wrapper that reads only the
route template FastAPI leaves in the scope.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowpilot.kernel.bus import BusEvent
from flowpilot.kernel.context import context_of
from flowpilot.kernel.metrics import Metrics, declare_durations
from flowpilot.live.bus import Bus, Subscription
from flowpilot.live.topics import QUEUE, StreamScope

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
PUBLISH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)


def _http(metrics: Metrics) -> Any:
    return metrics.histogram(
        "flowpilot_http_request_duration_seconds",
        "HTTP requests by route template, method and status class (2xx, 4xx, ...)",
        ["route", "method", "status"],
        HTTP_BUCKETS,
    )


def _publish(metrics: Metrics) -> Any:
    return metrics.histogram(
        "flowpilot_bus_publish_seconds",
        "Time the event bus took to accept one committed event (publish lag)",
        buckets=PUBLISH_BUCKETS,
    )


def declare(metrics: Metrics, engine: AsyncEngine) -> None:
    """Make the process's metrics at start-up, so ``/metrics`` shows them before any use."""
    declare_durations(metrics)
    _http(metrics)
    _publish(metrics)
    pool = engine.sync_engine.pool
    in_use = metrics.gauge("flowpilot_db_pool_in_use", "Request connections checked out now")
    checked_out = getattr(pool, "checkedout", None)
    in_use.set_function(lambda: float(checked_out()) if callable(checked_out) else 0.0)


class HttpDurations:
    """ASGI middleware: observe every HTTP request's duration under its route template
    (``unmatched`` for a path no route has), method and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics = context_of(HTTPConnection(scope)).metrics
            _http(metrics).labels(
                route=route, method=scope["method"], status=f"{status // 100}xx"
            ).observe(time.perf_counter() - start)


class TimedBus:
    """The bus, with each publish timed onto ``flowpilot_bus_publish_seconds``."""

    def __init__(self, bus: Bus, metrics: Metrics) -> None:
        self.inner = bus
        self.fanout = bus.fanout
        self._histogram = _publish(metrics)

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def publish(self, event: BusEvent) -> None:
        start = time.perf_counter()
        await self.inner.publish(event)
        self._histogram.observe(time.perf_counter() - start)

    async def subscribe(
        self, account_id: str, last_event_id: int | None = None, scope: StreamScope = QUEUE
    ) -> Subscription:
        return await self.inner.subscribe(account_id, last_event_id, scope)

    async def ping(self) -> bool:
        return await self.inner.ping()


def metrics_response(metrics: Metrics, token: str | None, authorization: str | None) -> Response:
    """The Prometheus text, or 401 when a token is set and the request does not carry it."""
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not (authorization or "").startswith("Bearer ") or not hmac.compare_digest(
            given.encode(), token.encode()
        ):
            return Response(
                "metrics need the bearer token (FLOWPILOT_METRICS_TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
                media_type="text/plain",
            )
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def metrics_app(metrics: Metrics, token: str | None) -> ASGIApp:
    """A bare ASGI app answering ``GET /metrics`` (the worker's ``--metrics-port``)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/metrics":
            response = Response("not found\n", status_code=404, media_type="text/plain")
        else:
            auth = HTTPConnection(scope).headers.get("authorization")
            response = metrics_response(metrics, token, auth)
        await response(scope, receive, send)

    return app
