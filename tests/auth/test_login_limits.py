"""Brute-force protection: too many failed logins per email, and per client IP, answer 429."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from flowpilot.kernel.settings import Settings
from flowpilot.models import LoginFailure
from tests.factories import PASSWORD

LIMIT = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"login_max_failures": LIMIT, "login_failure_window_seconds": 600}
    )


def client_from(app, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def attempt(client, email, password="wrong-password"):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def failures(db) -> int:
    async with db() as s:
        return int((await s.execute(select(func.count()).select_from(LoginFailure))).scalar_one())


async def test_too_many_failures_for_one_email_answer_429(app, factory, db):
    user = await factory.user()
    # Each attempt from a different IP, so only the per-email limit can trip.
    for n in range(LIMIT):
        async with client_from(app, f"10.0.0.{n + 1}") as c:
            assert (await attempt(c, user.email)).status_code == 401
    assert await failures(db) == 2 * LIMIT  # one row per email and one per IP
    async with client_from(app, "10.0.0.99") as c:
        r = await attempt(c, user.email, PASSWORD)  # even the right password
        assert r.status_code == 429
        assert "try again later" in r.json()["detail"]
        assert int(r.headers["retry-after"]) == 600
        # Another email from a fresh IP is unaffected.
        other = await factory.user()
        assert (await attempt(c, other.email, PASSWORD)).status_code == 200


async def test_too_many_failures_from_one_ip_answer_429(app, factory):
    users = [await factory.user() for _ in range(LIMIT + 1)]
    async with client_from(app, "192.0.2.7") as c:
        # Different emails each time, so only the per-IP limit can trip.
        for user in users[:LIMIT]:
            assert (await attempt(c, user.email)).status_code == 401
        assert (await attempt(c, users[LIMIT].email, PASSWORD)).status_code == 429
    async with client_from(app, "192.0.2.8") as c:
        assert (await attempt(c, users[LIMIT].email, PASSWORD)).status_code == 200


async def test_failures_age_out_of_the_window(app, factory, clock):
    user = await factory.user()
    async with client_from(app, "198.51.100.1") as c:
        for _ in range(LIMIT):
            assert (await attempt(c, user.email)).status_code == 401
        assert (await attempt(c, user.email, PASSWORD)).status_code == 429
        clock.advance(seconds=601)
        assert (await attempt(c, user.email, PASSWORD)).status_code == 200


async def test_below_the_limit_a_right_password_still_works(app, factory):
    user = await factory.user()
    async with client_from(app, "198.51.100.2") as c:
        for _ in range(LIMIT - 1):
            assert (await attempt(c, user.email)).status_code == 401
        assert (await attempt(c, user.email, PASSWORD)).status_code == 200
