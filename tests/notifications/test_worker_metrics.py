"""``flowpilot worker --metrics-port``: the worker's own /metrics serves its delivery outcomes."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from flowpilot.notifications.dispatcher import run_once
from flowpilot.runtime.cli import metrics_server
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, open_session
from tests.servers import free_port


async def _serving(ctx: AppContext, port: int):  # type: ignore[no-untyped-def]
    server = metrics_server(ctx, host="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn has no start event)
        await asyncio.sleep(0.01)
    return server, task


async def test_worker_endpoint_serves_delivery_outcomes(  # type: ignore[no-untyped-def]
    ctx: AppContext, client: httpx.AsyncClient, factory: Factory
):
    team = await factory.team()
    ai = await open_session(client, team["tech"])
    r = await client.post(
        f"/api/v1/sessions/{ai['id']}/handoff",
        json={"reason": "stuck", "urgency": "high"},
        headers=team["tech"].headers,
    )
    assert r.status_code == 201, r.text
    await run_once(ctx)  # the dispatcher, as the worker runs it: three seniors emailed
    port = free_port()
    server, task = await _serving(ctx, port)
    try:
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/metrics")
            assert r.status_code == 200
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for f in text_string_to_metric_families(r.text)
                for s in f.samples
            }
            key = ("flowpilot_delivery_outcomes_total", (("channel", "email"), ("outcome", "sent")))
            assert samples[key] == 3.0
            assert (await http.get(f"http://127.0.0.1:{port}/other")).status_code == 404
    finally:
        server.should_exit = True
        await task


async def test_worker_endpoint_honours_the_token(ctx: AppContext):  # type: ignore[no-untyped-def]
    ctx.settings.metrics_token = "s3cret-token"
    port = free_port()
    server, task = await _serving(ctx, port)
    try:
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{port}/metrics"
            assert (await http.get(url)).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await http.get(url, headers=wrong)).status_code == 401
            ok = await http.get(url, headers={"Authorization": "Bearer s3cret-token"})
            assert ok.status_code == 200 and "flowpilot_db_pool_in_use" in ok.text
    finally:
        server.should_exit = True
        await task
