"""Hostile input found by an attack run: every case answers 4xx naming the field, never a 500,
on SQLite and PostgreSQL alike (PostgreSQL text cannot hold a NUL character)."""

from __future__ import annotations

import json

import pytest

from tests.factories import PASSWORD, open_session

NUL = "a\x00b"


def named(response, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if isinstance(detail, str):
        assert field in detail, detail
    else:
        assert field in [e["field"] for e in detail], detail


async def test_nul_in_the_unauthenticated_login_names_the_field(client, factory):
    user = await factory.user()
    r = await client.post("/api/v1/auth/login", json={"email": NUL, "password": "x"})
    named(r, "email")
    r = await client.post("/api/v1/auth/login", json={"email": user.email, "password": NUL})
    named(r, "password")
    # The real login still works afterwards.
    r = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": NUL, "problem": "p"}, "title"),
        ({"title": "t", "problem": NUL}, "problem"),
        ({"title": "t", "problem": "p", "customer": NUL}, "customer"),
        ({"title": "t", "problem": "p", "environment": {"os": NUL}}, "environment"),
        ({"title": "t", "problem": "p", "environment": {NUL: "x"}}, "environment"),
    ],
)
async def test_nul_in_session_fields_names_the_field(client, factory, body, field):
    tech = await factory.user()
    named(await client.post("/api/v1/sessions", json=body, headers=tech.headers), field)


async def test_nul_in_steps_escalations_and_baseline(client, factory):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    r = await client.post(
        f"/api/v1/sessions/{s['id']}/steps",
        json={"kind": "note", "content": NUL},
        headers=team["tech"].headers,
    )
    named(r, "content")
    r = await client.post(
        f"/api/v1/sessions/{s['id']}/handoff",
        json={"reason": NUL, "urgency": "high"},
        headers=team["tech"].headers,
    )
    named(r, "reason")
    r = await client.post(
        "/api/v1/analytics/baseline", json={"seconds": 60, "note": NUL}, headers=team["eng"].headers
    )
    named(r, "note")


async def test_nul_in_a_query_parameter_or_the_path_names_it(client, factory):
    eng = await factory.user(role="engineer")
    r = await client.get("/api/v1/handoffs/queue?q=a%00b", headers=eng.headers)
    named(r, "q")
    r = await client.get("/api/v1/sessions/a%00b", headers=eng.headers)
    named(r, "path")


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/analytics/baseline"])
@pytest.mark.parametrize("offset", ["9223372036854775808", "100001", "-1"])
async def test_offset_is_bounded(client, factory, path, offset):
    eng = await factory.user(role="engineer")
    named(await client.get(f"{path}?offset={offset}", headers=eng.headers), "offset")


async def test_offset_at_the_bound_is_an_empty_page(client, factory):
    eng = await factory.user(role="engineer")
    for path in ("/api/v1/sessions", "/api/v1/analytics/baseline"):
        r = await client.get(f"{path}?offset=100000", headers=eng.headers)
        assert r.status_code == 200 and r.json()["items"] == []


async def test_baseline_limit_is_the_page_maximum(client, factory):
    eng = await factory.user(role="engineer")
    named(await client.get("/api/v1/analytics/baseline?limit=201", headers=eng.headers), "limit")
    assert (
        await client.get("/api/v1/analytics/baseline?limit=200", headers=eng.headers)
    ).status_code == 200


@pytest.mark.parametrize("value", ["\xb2", "\u0663", "12a", "-1", "99999999999999999999"])
async def test_last_event_id_that_is_not_an_ascii_number_names_it(client, factory, value):
    eng = await factory.user(role="engineer")
    headers = {**eng.headers, "Last-Event-ID": value.encode("latin-1", "replace")}
    r = await client.get("/api/v1/handoffs/stream", headers=headers)
    named(r, "last-event-id")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seconds": True}, "seconds"),
        ({"seconds": "60"}, "seconds"),
        ({"seconds": 60, "observed_at": -1}, "observed_at"),
        ({"seconds": 60, "observed_at": 1_700_000_000}, "observed_at"),
        ({"seconds": 60, "observed_at": "1969-12-31T23:59:59+00:00"}, "observed_at"),
        ({"seconds": 60, "observed_at": "1999-12-31T23:59:59+00:00"}, "observed_at"),
        ({"seconds": 60, "observed_at": "2100-01-01T00:00:00+00:00"}, "observed_at"),
    ],
)
async def test_baseline_types_are_strict(client, factory, body, field):
    eng = await factory.user(role="engineer")
    named(await client.post("/api/v1/analytics/baseline", json=body, headers=eng.headers), field)


async def test_baseline_accepts_plain_numbers_and_sane_times(client, factory):
    eng = await factory.user(role="engineer")
    for body in (
        {"seconds": 60},
        {"seconds": 90.5, "observed_at": "2026-11-30T10:00:00+00:00"},
    ):
        r = await client.post("/api/v1/analytics/baseline", json=body, headers=eng.headers)
        assert r.status_code == 201, r.text


async def test_a_body_that_is_not_utf8_names_the_body(client, factory):
    tech = await factory.user()
    r = await client.post(
        "/api/v1/sessions",
        content=b'{"title": "\xff\xfe", "problem": "p"}',
        headers={**tech.headers, "content-type": "application/json"},
    )
    named(r, "body")
    r = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "\xb2", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    named(r, "body")


async def test_405_names_every_method_of_the_path(client, factory):
    tech = await factory.user()
    r = await client.delete("/api/v1/sessions", headers=tech.headers)
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST"}


async def test_nul_in_a_page_form_answers_422_naming_the_field(client, factory):
    eng = await factory.user(role="engineer")
    form = {"csrf_token": eng.csrf_token, "duration": "10:00", "note": NUL, "observed_at": ""}
    r = await client.post(
        "/metrics-dashboard/baseline",
        data=form,
        headers={"cookie": f"flowpilot_session={eng.token}", "accept": "text/html"},
    )
    assert r.status_code == 422
    assert "note" in r.text.lower()
    items = (await client.get("/api/v1/analytics/baseline", headers=eng.headers)).json()["items"]
    assert items == []


async def test_a_lone_surrogate_in_text_names_the_field(client, factory):
    tech = await factory.user()
    body = json.dumps({"title": "ok \ud800", "problem": "p"})  # "\\ud800" on the wire
    headers = {**tech.headers, "content-type": "application/json"}
    named(await client.post("/api/v1/sessions", content=body, headers=headers), "title")


async def test_a_non_ascii_keep_token_is_refused_naming_the_token(client, factory):
    """Found by the fuzzer: hmac.compare_digest raised on non-ASCII text (a 500)."""
    tech = await factory.user()
    s = await open_session(client, tech)
    r = await client.post(
        f"/api/v1/sessions/{s['id']}/assistant/keep",
        json={"token": "ã\u00a6", "answer": "Restart the spooler"},
        headers=tech.headers,
    )
    named(r, "token")
