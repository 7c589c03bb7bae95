"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from flowpilot.kernel.context import context_of
from flowpilot.runtime.context import AppContext
from flowpilot.runtime.observability import metrics_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


READY_WITHIN_SECONDS = 0.8  # each check, run side by side: /readyz answers within a second


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database and the bus both answer in time; names what is down."""
    ctx = cast(AppContext, context_of(request))  # the composition root knows its own context

    async def database() -> bool:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    names = ("database", "bus")
    results = await asyncio.gather(
        *(_check(probe) for probe in (database(), ctx.bus.ping())), return_exceptions=False
    )
    checks = dict(zip(names, results, strict=True))
    down = [name for name, verdict in checks.items() if verdict != "ok"]
    return JSONResponse(
        {"status": "not ready" if down else "ready", **checks, "down": down},
        status_code=503 if down else 200,
    )


async def _check(probe: Coroutine[Any, Any, bool]) -> str:
    try:
        ok = await asyncio.wait_for(probe, timeout=READY_WITHIN_SECONDS)
    except TimeoutError:
        return f"unreachable: no answer within {READY_WITHIN_SECONDS} s"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok" if ok else "unreachable"


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        401: {"content": {"text/plain": {}}, "description": "FLOWPILOT_METRICS_TOKEN is set"},
    },
)
async def metrics(request: Request) -> Response:
    ctx = context_of(request)
    token = ctx.settings.metrics_token
    return metrics_response(ctx.metrics, token, request.headers.get("authorization"))
