"""The assistant's partials render on the session view (server-side, no browser)."""

from __future__ import annotations

from tests.factories import open_session


async def _page(client, user, path):  # type: ignore[no-untyped-def]
    client.cookies.set("flowpilot_session", user.token)
    try:
        return await client.get(path, headers={"accept": "text/html"})
    finally:
        client.cookies.clear()


async def test_session_view_has_assistant_panel(client, factory) -> None:  # type: ignore[no-untyped-def]
    team = await factory.team()
    s = await open_session(client, team["tech"])
    owner_page = await _page(client, team["tech"], f"/sessions/{s['id']}")
    assert owner_page.status_code == 200
    html = owner_page.text
    assert 'id="assistant-panel"' in html and f'data-session-id="{s["id"]}"' in html
    assert 'id="assistant-ask-form"' in html
    assert 'id="writeup-save"' in html
    assert "/static/assistant.js" in html
    # An engineer who is neither owner nor assignee may ask but not save the resolution.
    eng_page = await _page(client, team["eng"], f"/sessions/{s['id']}")
    assert 'id="assistant-ask-form"' in eng_page.text
    assert 'id="writeup-save"' not in eng_page.text
    static = await client.get("/static/assistant.js")
    assert static.status_code == 200 and "streamText" in static.text
