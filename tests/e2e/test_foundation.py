"""The foundation in a real browser: log in, open a session, add a step, log out."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import PASSWORD, Factory


async def test_login_open_session_add_step_logout(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    tech = await factory.user(role="technician", name="Tina Technician")
    page = await page_as(None)

    await page.goto("/sessions")
    await expect(page).to_have_url(f"{live_server.url}/login?next=/sessions")
    await page.get_by_label("Email").fill(tech.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{live_server.url}/sessions")
    await expect(page.locator(".who-name")).to_have_text("Tina Technician")
    await expect(page.get_by_text("No sessions yet.")).to_be_visible()

    form = page.locator("#new-session-form")
    await form.get_by_label("Title").fill("Printer offline after update")
    await form.get_by_label("Problem").fill("Queue shows offline since Tuesday's driver update")
    await form.get_by_label("Customer").fill("Acme Ltd")
    await form.locator('[name="env-key"]').first.fill("os")
    await form.locator('[name="env-value"]').first.fill("Windows 11")
    await form.get_by_role("button", name="Open session").click()

    await expect(page.locator("h1")).to_have_text("Printer offline after update")
    assert "/sessions/" in page.url
    await expect(page.locator("#environment")).to_contain_text("Windows 11")
    await expect(page.locator("#timeline-empty")).to_be_visible()

    step_form = page.locator("#step-form")
    await step_form.get_by_label("Action").check()
    await step_form.get_by_label("What happened").fill("Restarted the print spooler")
    await step_form.get_by_role("button", name="Add step").click()

    item = page.locator("#timeline .timeline-item").last
    await expect(item).to_contain_text("Restarted the print spooler")
    await expect(item.locator(".author")).to_have_text("Tina Technician")
    await expect(item.locator(".badge")).to_have_text("action")
    await expect(page.locator("#timeline-empty")).to_be_hidden()

    # It was stored, not only drawn: after a reload it is still there with its author.
    await page.reload()
    item = page.locator("#timeline .timeline-item")
    await expect(item).to_have_count(1)
    await expect(item.locator(".author")).to_have_text("Tina Technician")

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{live_server.url}/login")
    await expect(page.get_by_role("heading", name="Log in to FlowPilot")).to_be_visible()
    # The login is over: the sessions page sends us back to log in.
    await page.goto("/sessions")
    await expect(page).to_have_url(f"{live_server.url}/login?next=/sessions")


async def test_wrong_password_shows_an_error_in_words(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    tech = await factory.user(role="technician")
    page = await page_as(None)
    await page.goto("/login")
    await page.get_by_label("Email").fill(tech.email)
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Log in").click()
    error = page.locator("#login-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_text("That email and password do not match an active account.")
    await expect(page).to_have_url(f"{live_server.url}/login")


async def test_technician_on_users_admin_sees_not_allowed(
    page_as: PageAs, factory: Factory
) -> None:
    tech = await factory.user(role="technician")
    page = await page_as(tech)
    response = await page.goto("/admin/users")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("Requires role admin")
    # The technician's navigation does not offer the page in the first place.
    await expect(page.locator(".topnav")).not_to_contain_text("Users")


async def test_admin_manages_users(page_as: PageAs, factory: Factory) -> None:
    team = await factory.team()
    page = await page_as(team["admin"])
    await page.goto("/admin/users")

    form = page.locator("#add-user-form")
    await form.get_by_label("Name").fill("Nina New")
    await form.get_by_label("Email").fill("nina@example.test")
    await form.get_by_label("Role").select_option("engineer")
    await form.get_by_label("Initial password").fill("long-enough-pw")
    await form.get_by_role("button", name="Add user").click()
    row = page.locator("#users-table tr", has_text="nina@example.test")
    await expect(row).to_be_visible()
    await expect(row.locator(".role-select")).to_have_value("engineer")

    await row.locator(".role-select").select_option("technician")
    await expect(page.locator("#users-status")).to_have_text("Nina New is now a technician.")
    await row.locator(".role-select").select_option("engineer")
    await expect(page.locator("#users-status")).to_have_text("Nina New is now an engineer.")
    await row.locator(".role-select").select_option("admin")
    await expect(page.locator("#users-status")).to_have_text("Nina New is now an admin.")

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Deactivate").click()
    await expect(row.locator(".active-badge")).to_have_text("deactivated")
    await page.reload()
    row = page.locator("#users-table tr", has_text="nina@example.test")
    await expect(row.locator(".active-badge")).to_have_text("deactivated")
    await expect(row.locator(".role-select")).to_have_value("admin")

    # A malformed email is refused in a sentence, without the validator's field id.
    await form.get_by_label("Name").fill("Nina Typo")
    await form.get_by_label("Email").fill("nina-at-example.test")
    await form.get_by_label("Initial password").fill("long-enough-pw")
    await form.get_by_role("button", name="Add user").click()
    await expect(page.locator("#add-user-error")).to_have_text(
        "Email is not a valid email address."
    )

    # A duplicate email is refused in words.
    await form.get_by_label("Name").fill("Nina Again")
    await form.get_by_label("Email").fill("nina@example.test")
    await form.get_by_label("Initial password").fill("long-enough-pw")
    await form.get_by_role("button", name="Add user").click()
    await expect(page.locator("#add-user-error")).to_have_text(
        "A user with this email already exists."
    )


async def test_engineer_reads_but_cannot_add_steps_to_a_technicians_session(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    team = await factory.team()
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        created = await api.post(
            "/api/v1/sessions",
            json={"title": "Laptop won't boot", "problem": "Black screen"},
            headers=team["tech"].headers,
        )
        assert created.status_code == 201, created.text
    page = await page_as(team["eng"])
    await page.goto(f"/sessions/{created.json()['id']}")
    await expect(page.locator("h1")).to_have_text("Laptop won't boot")
    await expect(page.locator("#step-form")).to_have_count(0)
    await expect(page.locator("#step-readonly")).to_have_text(
        f"Only the session's owner ({team['tech'].name}) or an admin can add steps."
    )
