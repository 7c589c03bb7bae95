"""Server-rendered pages over HTTP: redirects, error pages in words, CSRF, what each role sees."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from flowpilot.web import render as render_mod
from tests.factories import Factory, TestUser, add_step, open_session

HTML = {"accept": "text/html"}


def login_cookie(client: httpx.AsyncClient, user: TestUser) -> None:
    client.cookies.set("flowpilot_session", user.token)


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/", "/login"),
        ("/sessions", "/login?next=/sessions"),
        ("/sessions/whatever", "/login?next=/sessions/whatever"),
        ("/admin/users", "/login?next=/admin/users"),
    ],
)
async def test_logged_out_pages_redirect_to_login(
    client: httpx.AsyncClient, path: str, location: str
) -> None:
    # No Accept header on purpose: page routes answer as pages whatever the client asks for.
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == location


async def test_login_page_renders_and_logged_in_user_is_sent_on(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert 'id="login-form"' in response.text
    tech = await factory.user(role="technician")
    login_cookie(client, tech)
    response = await client.get("/login?next=/sessions")
    assert (response.status_code, response.headers["location"]) == (303, "/sessions")
    # An off-site "next" is never followed.
    response = await client.get("/login?next=//evil.example/x")
    assert response.headers["location"] == "/"


async def test_home_sends_each_role_to_its_page(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    login_cookie(client, team["tech"])
    assert (await client.get("/")).headers["location"] == "/sessions"
    login_cookie(client, team["eng"])
    assert (await client.get("/")).headers["location"] == "/escalations"


async def test_another_accounts_session_is_a_404_page(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user(role="technician")
    opened = await open_session(client, owner, title="Secret title of account A")
    stranger = await factory.user(role="admin")  # admin of another account
    login_cookie(client, stranger)
    response = await client.get(f"/sessions/{opened['id']}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text
    assert "Session not found" in response.text
    assert "Secret title" not in response.text
    assert "Traceback" not in response.text


async def test_technician_on_users_admin_sees_not_allowed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tech = await factory.user(role="technician")
    login_cookie(client, tech)
    response = await client.get("/admin/users", headers=HTML)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Not allowed" in response.text
    assert "Requires role admin" in response.text


async def test_logout_form_without_csrf_token_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tech = await factory.user(role="technician")
    login_cookie(client, tech)
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert "CSRF token missing or invalid" in response.text
    response = await client.post("/logout", data={"csrf_token": "not-the-token"})
    assert response.status_code == 403
    # Still logged in: the refused logout changed nothing.
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_logout_form_with_csrf_token_ends_the_login(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tech = await factory.user(role="technician")
    login_cookie(client, tech)
    response = await client.post("/logout", data={"csrf_token": tech.csrf_token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'flowpilot_session=""' in response.headers["set-cookie"]
    # The token is dead on the server too, not just dropped by this browser.
    me = await client.get("/api/v1/me", headers=tech.headers)
    assert me.status_code == 401


async def test_sessions_list_shows_only_the_callers_sessions(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    await open_session(client, team["tech"], title="Mine: VPN drops", customer="Acme")
    await open_session(client, team["eng"], title="Theirs: disk full")
    login_cookie(client, team["tech"])
    response = await client.get("/sessions")
    assert response.status_code == 200
    assert "Mine: VPN drops" in response.text
    assert "Acme" in response.text
    assert "Theirs: disk full" not in response.text
    assert 'id="new-session-form"' in response.text
    # Admins see the account's sessions.
    login_cookie(client, team["admin"])
    response = await client.get("/sessions")
    assert "Mine: VPN drops" in response.text and "Theirs: disk full" in response.text


async def test_session_view_shows_header_environment_and_steps_with_authors(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    tech = team["tech"]
    opened = await open_session(
        client,
        tech,
        title="Printer <b>offline</b>",
        customer="Acme",
        asset="HP M404",
        environment={"os": "Windows 11", "driver": "v6.2"},
    )
    await add_step(client, tech, opened["id"], kind="action", content="Restarted the spooler")
    await add_step(client, team["admin"], opened["id"], kind="note", content="Admin note")
    login_cookie(client, tech)
    response = await client.get(f"/sessions/{opened['id']}")
    assert response.status_code == 200
    page = response.text
    assert "Printer &lt;b&gt;offline&lt;/b&gt;" in page  # escaped, never raw HTML
    assert "HP M404" in page and "Acme" in page
    assert re.search(r"<th scope=\"row\">driver</th><td>v6.2</td>", page)
    items = re.findall(r'<li class="timeline-item[^"]*"[^>]*>(.*?)</li>', page, re.S)
    assert len(items) == 2
    assert "Restarted the spooler" in items[0] and tech.name in items[0]
    assert "Admin note" in items[1] and team["admin"].name in items[1]
    assert 'id="step-form"' in page  # the assignee may add steps


async def test_add_step_form_only_for_assignee_or_admin(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    opened = await open_session(client, team["tech"])
    login_cookie(client, team["eng"])  # a senior may read, but is not the assignee
    response = await client.get(f"/sessions/{opened['id']}")
    assert response.status_code == 200
    assert 'id="step-form"' not in response.text
    assert f"Only the session's owner ({team['tech'].name}) or an admin can add steps." in (
        response.text
    )
    login_cookie(client, team["admin"])
    response = await client.get(f"/sessions/{opened['id']}")
    assert 'id="step-form"' in response.text


async def test_colleagues_session_is_not_allowed_for_a_technician(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    other_tech = await factory.user(team["tech"].account_id, role="technician")
    opened = await open_session(client, team["tech"])
    login_cookie(client, other_tech)
    response = await client.get(f"/sessions/{opened['id']}")
    assert response.status_code == 403
    assert "Not allowed" in response.text


async def test_users_admin_lists_the_accounts_users_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    outsider = await factory.user(role="engineer")
    login_cookie(client, team["admin"])
    response = await client.get("/admin/users")
    assert response.status_code == 200
    for user in team.values():
        assert user.email in response.text
    assert outsider.email not in response.text
    assert 'id="add-user-form"' in response.text


async def test_pages_carry_the_csrf_token(client: httpx.AsyncClient, factory: Factory) -> None:
    tech = await factory.user(role="technician")
    login_cookie(client, tech)
    page = (await client.get("/sessions")).text
    assert f'<meta name="csrf-token" content="{tech.csrf_token}">' in page
    assert f'name="csrf_token" value="{tech.csrf_token}"' in page  # the logout form


async def test_page_context_hooks_add_to_the_session_view(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    seen: dict[str, Any] = {}

    async def hook(request: Any, session: Any, **ctx: Any) -> dict[str, Any]:
        seen.update(ctx)
        return {"extra_from_hook": "yes"}

    tech = await factory.user(role="technician")
    opened = await open_session(client, tech)
    render_mod.register_page_hook("session_view", hook)
    try:
        login_cookie(client, tech)
        response = await client.get(f"/sessions/{opened['id']}")
    finally:
        render_mod.page_context_hooks["session_view"].remove(hook)
    assert response.status_code == 200
    assert seen["ai_session"].id == opened["id"]
    assert seen["actor"].id == tech.id
    assert seen["steps"] == []
    assert set(seen) >= {"users", "can_add_step", "csrf_token", "now"}


async def test_unknown_address_is_a_page_for_browsers_and_json_for_api(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in response.text
    response = await client.get("/api/v1/no-such-thing", headers=HTML)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
