"""Operations endpoints: liveness, readiness (database and bus), Prometheus metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_checks_database_and_bus(client):
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "database": "ok", "bus": "ok", "down": []}


async def test_readyz_is_503_when_the_database_is_unreachable(app, client):
    from flowpilot.kernel.db.engines import make_engine

    real = app.state.ctx.engine
    # A database path that cannot be opened: the check must report it, not crash.
    app.state.ctx.engine = make_engine("sqlite+aiosqlite:////nonexistent-dir/fp.db")
    try:
        r = await client.get("/readyz")
    finally:
        await app.state.ctx.engine.dispose()
        app.state.ctx.engine = real
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert body["database"].startswith("unreachable")
    assert body["bus"] == "ok"


async def test_metrics_are_prometheus_text(client):
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert "flowpilot_sse_open_streams" in families
    assert families["flowpilot_sse_open_streams"].type == "gauge"
    assert [s.value for s in families["flowpilot_sse_open_streams"].samples] == [0.0]


async def test_ops_endpoints_need_no_credentials_and_skip_the_api_prefix(client):
    # Probes hit these without logging in; they live outside /api/v1 on purpose.
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status_code == 200
    assert (await client.get("/api/v1/healthz")).status_code == 404
