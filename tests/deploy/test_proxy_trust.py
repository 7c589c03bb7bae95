"""Forwarded addresses are believed from configured proxies only; cookies follow the public URL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from flowpilot.kernel.settings import Settings
from flowpilot.models import LoginFailure
from flowpilot.runtime.app import create_app
from flowpilot.runtime.middleware import ProxyHeaders
from tests.factories import PASSWORD


async def _seen(
    trusted: list[str], peer: str, headers: list[tuple[bytes, bytes]], kind: str = "http"
) -> tuple[Any, str]:
    """What an app behind ``ProxyHeaders`` sees as its client and scheme."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])

    scheme = "ws" if kind == "websocket" else "http"
    scope = {"type": kind, "client": (peer, 5000), "scheme": scheme, "headers": headers}
    await ProxyHeaders(app, trusted=trusted)(scope, None, None)  # type: ignore[arg-type]
    return seen["client"], seen["scheme"]


XFF = b"x-forwarded-for"
PROTO = b"x-forwarded-proto"


async def test_a_trusted_proxy_names_the_client_and_scheme() -> None:
    client, scheme = await _seen(
        ["10.0.0.0/8"], "10.0.0.2", [(XFF, b"203.0.113.7"), (PROTO, b"https")]
    )
    assert (client, scheme) == (("203.0.113.7", 0), "https")


async def test_the_right_most_untrusted_hop_is_the_client_not_what_it_claims() -> None:
    # The client claimed 192.0.2.1; nginx appended the address it saw, a second proxy its own.
    headers = [(XFF, b"192.0.2.1, 198.51.100.4"), (XFF, b"10.0.0.9")]
    client, _ = await _seen(["10.0.0.0/8"], "10.0.0.2", headers)
    assert client == ("198.51.100.4", 0)


async def test_an_untrusted_peer_claims_nothing() -> None:
    headers = [(XFF, b"203.0.113.7"), (PROTO, b"https")]
    assert await _seen(["10.0.0.0/8"], "198.51.100.4", headers) == (("198.51.100.4", 5000), "http")
    # No trusted proxies configured (the default): nobody is believed, not even loopback.
    assert await _seen([], "127.0.0.1", headers) == (("127.0.0.1", 5000), "http")


async def test_ports_and_odd_entries() -> None:
    trusted = ["127.0.0.1", "::1"]
    assert (await _seen(trusted, "::1", [(XFF, b"[2001:db8::5]:4711")]))[0] == ("2001:db8::5", 0)
    assert (await _seen(trusted, "127.0.0.1", [(XFF, b"203.0.113.7:80")]))[0] == ("203.0.113.7", 0)
    # Every hop a trusted proxy: the left-most is the best known.
    assert (await _seen(trusted, "127.0.0.1", [(XFF, b"127.0.0.1,::1")]))[0] == ("127.0.0.1", 0)
    # No header: the peer stays; an unknown scheme is ignored.
    assert await _seen(trusted, "127.0.0.1", [(PROTO, b"gopher")]) == (("127.0.0.1", 5000), "http")
    _, ws = await _seen(trusted, "127.0.0.1", [(PROTO, b"https")], kind="websocket")
    assert ws == "wss"


def test_trusted_proxies_setting_parses_commas_and_refuses_garbage() -> None:
    settings = Settings(trusted_proxies="10.0.0.1, 172.16.0.0/12,::1")  # type: ignore[arg-type]
    assert settings.trusted_proxies == ["10.0.0.1/32", "172.16.0.0/12", "::1/128"]
    with pytest.raises(ValueError, match="'nginx' is not an IP address or CIDR"):
        Settings(trusted_proxies="nginx")  # type: ignore[arg-type]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"trusted_proxies": ["10.0.0.0/24"]})


def _from(app: Any, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _failure_keys(db: Any) -> set[str]:
    async with db() as s:
        return set((await s.scalars(select(LoginFailure.key))).all())


async def test_failed_logins_count_the_forwarded_address_from_a_trusted_proxy_only(
    app: Any, factory: Any, db: Any
) -> None:
    user = await factory.user()
    body = {"email": user.email, "password": "wrong-password"}
    async with _from(app, "10.0.0.5") as proxy:
        r = await proxy.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.7"}
        )
        assert r.status_code == 401
    async with _from(app, "198.51.100.4") as direct:  # not a proxy: its claim is ignored
        r = await direct.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.8"}
        )
        assert r.status_code == 401
    addresses = {key for key in await _failure_keys(db) if key.startswith("ip:")}
    assert addresses == {"ip:203.0.113.7", "ip:198.51.100.4"}


async def _login_cookie(settings: Settings, factory: Any) -> str:
    user = await factory.user()
    app = create_app(settings)
    async with LifespanManager(app), _from(app, "127.0.0.1") as client:
        r = await client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        logout = await client.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {r.json()['token']}"}
        )
        assert logout.status_code == 204
        assert (
            "Max-Age=0" in logout.headers["set-cookie"]
            or "expires=" in logout.headers["set-cookie"].lower()
        )
        return r.headers["set-cookie"]


@pytest.mark.parametrize(
    ("base_url", "override", "secure"),
    [
        ("https://flowpilot.example.com", None, True),
        ("http://127.0.0.1:8000", None, False),
        ("https://flowpilot.example.com", False, False),  # the explicit setting wins
        ("http://127.0.0.1:8000", True, True),
    ],
)
async def test_session_cookie_is_secure_when_the_public_url_is_https(
    settings: Settings, factory: Any, db: Any, base_url: str, override: bool | None, secure: bool
) -> None:
    cookie = await _login_cookie(
        settings.model_copy(update={"base_url": base_url, "cookie_secure": override}), factory
    )
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert ("secure" in attributes) is secure, cookie
    assert "httponly" in attributes and "samesite=lax" in attributes
