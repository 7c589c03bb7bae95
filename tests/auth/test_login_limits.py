"""Brute-force protection that is not a lockout switch: failed logins are limited per email +
address (low), per email (higher) and per address (at least 100), and a refusal says when to
come back (``Retry-After``)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from flowpilot.kernel.settings import Settings
from flowpilot.models import LoginFailure
from tests.factories import PASSWORD

LIMIT = 3  # one email from one address
PER_EMAIL = 5  # one email from any address
PER_ADDRESS = 100  # the lowest the settings allow
WINDOW = 600


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "login_max_failures": LIMIT,
            "login_max_failures_per_email": PER_EMAIL,
            "login_max_failures_per_address": PER_ADDRESS,
            "login_failure_window_seconds": WINDOW,
        }
    )


def client_from(app, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def attempt(client, email, password="wrong-password"):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def failures(db) -> int:
    async with db() as s:
        return int((await s.execute(select(func.count()).select_from(LoginFailure))).scalar_one())


def refused(response) -> None:
    assert response.status_code == 429, response.text
    assert "try again later" in response.json()["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW


async def test_one_email_from_one_address_is_limited_there_only(app, factory, db):
    user, colleague = await factory.user(), await factory.user()
    async with client_from(app, "192.0.2.7") as c:
        for _ in range(LIMIT):
            assert (await attempt(c, user.email)).status_code == 401
        assert await failures(db) == 3 * LIMIT  # per pair, per email, per address
        r = await attempt(c, user.email, PASSWORD)  # even the right password, from there
        refused(r)
        assert int(r.headers["retry-after"]) == WINDOW
        # A colleague behind the same address logs in with the right password.
        assert (await attempt(c, colleague.email, PASSWORD)).status_code == 200
    async with client_from(app, "192.0.2.8") as c:  # the user from elsewhere
        assert (await attempt(c, user.email, PASSWORD)).status_code == 200


async def test_ten_failures_for_one_email_never_lock_out_another_email(app, factory):
    """The contract's case with the default limits: ten failures, one email, one address."""
    user, colleague = await factory.user(), await factory.user()
    async with client_from(app, "192.0.2.9") as c:
        for _ in range(10):
            assert (await attempt(c, user.email)).status_code in (401, 429)
        assert (await attempt(c, colleague.email, PASSWORD)).status_code == 200


async def test_one_email_guessed_from_many_addresses_is_limited(app, factory):
    user = await factory.user()
    for n in range(PER_EMAIL):
        async with client_from(app, f"10.0.0.{n + 1}") as c:
            assert (await attempt(c, user.email)).status_code == 401
    async with client_from(app, "10.0.0.99") as c:
        refused(await attempt(c, user.email, PASSWORD))
        other = await factory.user()  # another email from the same fresh address: unaffected
        assert (await attempt(c, other.email, PASSWORD)).status_code == 200


async def test_the_address_alone_is_limited_only_after_100_failures(app, factory, db, clock):
    ip = "198.51.100.9"
    users = [await factory.user() for _ in range(2)]
    # 99 failures for 99 different emails from one address (recorded as the app records them).
    async with db() as s:
        s.add_all([LoginFailure(key=f"ip:{ip}", created_at=clock.now()) for _ in range(99)])
        await s.commit()
    async with client_from(app, ip) as c:
        assert (await attempt(c, users[0].email, PASSWORD)).status_code == 200  # 99 < 100
        assert (await attempt(c, "nobody@example.test")).status_code == 401  # the 100th
        refused(await attempt(c, users[1].email, PASSWORD))
    async with client_from(app, "198.51.100.10") as c:
        assert (await attempt(c, users[1].email, PASSWORD)).status_code == 200


async def test_retry_after_counts_down_and_failures_age_out(app, factory, clock):
    user = await factory.user()
    async with client_from(app, "198.51.100.1") as c:
        for _ in range(LIMIT):
            assert (await attempt(c, user.email)).status_code == 401
        clock.advance(seconds=100)
        r = await attempt(c, user.email, PASSWORD)
        refused(r)
        assert int(r.headers["retry-after"]) == WINDOW - 100
        clock.advance(seconds=WINDOW - 100 + 1)
        assert (await attempt(c, user.email, PASSWORD)).status_code == 200


async def test_below_the_limit_a_right_password_still_works(app, factory):
    user = await factory.user()
    async with client_from(app, "198.51.100.2") as c:
        for _ in range(LIMIT - 1):
            assert (await attempt(c, user.email)).status_code == 401
        assert (await attempt(c, user.email, PASSWORD)).status_code == 200


def test_the_address_limit_cannot_be_set_below_100(settings):
    with pytest.raises(ValueError, match="login_max_failures_per_address"):
        Settings(**{**settings.model_dump(), "login_max_failures_per_address": 99})
