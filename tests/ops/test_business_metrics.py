"""Prometheus: time to claim and to first action by urgency, HTTP durations by route template,
the bus's publish time, the database pool; and ``/metrics`` behind an optional bearer token."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.factories import open_session


async def _samples(client):  # type: ignore[no-untyped-def]
    r = await client.get("/metrics")
    assert r.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(r.text)
        for s in f.samples
    }


async def test_claim_and_first_action_are_observed_by_urgency(client, factory, clock):
    team = await factory.team()
    before = await _samples(client)
    assert ("flowpilot_db_pool_in_use", ()) in before
    assert not any(k[0] == "flowpilot_time_to_claim_seconds_count" for k in before)
    ai = await open_session(client, team["tech"])
    r = await client.post(
        f"/api/v1/sessions/{ai['id']}/handoff",
        json={"reason": "stuck", "urgency": "critical"},
        headers=team["tech"].headers,
    )
    handoff = r.json()
    clock.advance(seconds=45)
    r = await client.post(f"/api/v1/handoffs/{handoff['id']}/claim", headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    clock.advance(seconds=200)
    r = await client.post(
        f"/api/v1/sessions/{ai['id']}/steps",
        json={"kind": "action", "content": "restarted the spooler"},
        headers=team["eng"].headers,
    )
    assert r.status_code == 201, r.text
    # A second step is not a first action.
    await client.post(
        f"/api/v1/sessions/{ai['id']}/steps",
        json={"kind": "note", "content": "still fine"},
        headers=team["eng"].headers,
    )
    s = await _samples(client)
    crit = (("urgency", "critical"),)
    assert s[("flowpilot_time_to_claim_seconds_count", crit)] == 1.0
    assert s[("flowpilot_time_to_claim_seconds_sum", crit)] == 45.0
    assert s[("flowpilot_time_to_claim_seconds_bucket", (("le", "30.0"), *crit))] == 0.0
    assert s[("flowpilot_time_to_claim_seconds_bucket", (("le", "60.0"), *crit))] == 1.0
    assert s[("flowpilot_time_to_first_action_seconds_count", crit)] == 1.0
    assert s[("flowpilot_time_to_first_action_seconds_sum", crit)] == 200.0
    # Labels are the urgency only: never an account or a user.
    names = {k for k in s if k[0].startswith("flowpilot_time_to")}
    assert {frozenset(dict(labels)) - {"le"} for _, labels in names} == {frozenset({"urgency"})}
    claim_route = (
        ("method", "POST"),
        ("route", "/api/v1/handoffs/{handoff_id}/claim"),
        ("status", "2xx"),
    )
    assert s[("flowpilot_http_request_duration_seconds_count", claim_route)] == 1.0
    assert s[("flowpilot_bus_publish_seconds_count", ())] >= 2.0  # created, claimed


async def test_a_refused_claim_is_not_observed(client, factory):
    team = await factory.team()
    ai = await open_session(client, team["tech"])
    handoff = (
        await client.post(
            f"/api/v1/sessions/{ai['id']}/handoff",
            json={"reason": "stuck", "urgency": "low"},
            headers=team["tech"].headers,
        )
    ).json()
    await client.post(f"/api/v1/handoffs/{handoff['id']}/claim", headers=team["eng"].headers)
    r = await client.post(f"/api/v1/handoffs/{handoff['id']}/claim", headers=team["eng2"].headers)
    assert r.status_code == 409
    s = await _samples(client)
    assert s[("flowpilot_time_to_claim_seconds_count", (("urgency", "low"),))] == 1.0
    conflict = (
        ("method", "POST"),
        ("route", "/api/v1/handoffs/{handoff_id}/claim"),
        ("status", "4xx"),
    )
    assert s[("flowpilot_http_request_duration_seconds_count", conflict)] == 1.0
    r = await client.get("/no/such/page")
    s = await _samples(client)
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "4xx"))
    assert s[("flowpilot_http_request_duration_seconds_count", unmatched)] == 1.0


async def test_metrics_token(app, client):
    app.state.ctx.settings.metrics_token = "t0ken"
    try:
        r = await client.get("/metrics")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert (await client.get("/metrics", headers={"Authorization": "t0ken"})).status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 200 and "flowpilot_http_request_duration_seconds" in ok.text
    finally:
        app.state.ctx.settings.metrics_token = None
