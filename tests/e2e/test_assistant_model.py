"""The assistant page path with a model configured: a FlowPilot server process whose
FLOWPILOT_LLM_BASE_URL points at a real OpenAI-compatible server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests import servers
from tests.assistant.llm_server import LlmServer, serve
from tests.e2e.conftest import PageAs
from tests.factories import Factory
from tests.servers import LiveServer


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmServer]:
    yield from serve()


@pytest.fixture(scope="module")
def model_server(
    database_url: str, llm: LlmServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A second FlowPilot process on this worker's database, configured for the model."""
    settings = {
        "FLOWPILOT_DATABASE_URL": database_url,
        "FLOWPILOT_RUN_WORKERS": "false",
        "FLOWPILOT_LLM_BASE_URL": llm.url,
        "FLOWPILOT_LLM_API_KEY": "k-e2e",
        "FLOWPILOT_LLM_MODEL": "normal",
        "FLOWPILOT_LLM_TIMEOUT_SECONDS": "1.0",
    }
    with servers.running((tmp_path_factory.mktemp("model_server"), settings)) as (server,):
        yield server


async def test_model_answer_streams_and_errors_are_shown_on_the_page(
    page_as: PageAs, factory: Factory, model_server: LiveServer, llm: LlmServer
) -> None:
    team = await factory.team()
    tech = team["tech"]
    page = await page_as(tech)  # the login cookie is for 127.0.0.1, whichever port
    await page.goto(f"{model_server.url}/sessions")
    form = page.locator("#new-session-form")
    await form.get_by_label("Title").fill("Scanner not found")
    await form.get_by_label("Problem").fill("The document scanner disappeared after a reboot")
    await form.get_by_role("button", name="Open session").click()
    await expect(page.locator("h1")).to_have_text("Scanner not found")

    panel = page.locator("#assistant-panel")
    ask = panel.get_by_role("button", name="Suggest next steps")
    await ask.click()
    await expect(page.locator("#assistant-answer")).to_have_text("Hello world")
    await expect(page.locator("#assistant-source")).to_contain_text(
        "Written by the model normal; no resolved session looks like this one yet"
    )
    assert llm.requests[-1]["authorization"] == "Bearer k-e2e"
    await expect(page.locator("#timeline .timeline-item")).to_have_count(0)
    await panel.get_by_role("button", name="Add to the session").click()
    await expect(page.locator("#timeline .timeline-item").last).to_contain_text("Hello world")

    # The model refuses the request: a clear error, and nothing saved.
    await panel.get_by_label("Ask about this session").fill("[[http401]]")
    await ask.click()
    error = page.locator("#assistant-error")
    await expect(error).to_contain_text(f"The model at {llm.url} answered HTTP 401")
    await expect(error).to_contain_text("invalid api key")

    # The model stalls mid-answer: what came is shown, then the error; nothing saved.
    await panel.get_by_label("Ask about this session").fill("[[stall]]")
    await ask.click()
    await expect(error).to_contain_text("stopped responding")
    await expect(error).to_contain_text("Nothing was saved")
    await expect(page.locator("#assistant-answer")).to_have_text("partial")
    await expect(panel.get_by_role("button", name="Add to the session")).to_be_hidden()

    await page.reload()
    await expect(page.locator("#timeline .timeline-item")).to_have_count(1)
