"""Browser test rig: a real uvicorn server per xdist worker, Debian Chromium through Playwright.

Fixtures
- ``live_server`` (session): a uvicorn subprocess serving ``create_app`` against this worker's
  database (``database_url``), Redis (when FLOWPILOT_TEST_REDIS_URL is set, under this worker's
  ``redis_prefix``), background workers on, mail to a temp mailbox folder.
  ``.url`` is ``http://127.0.0.1:<port>``; ``.mailbox_dir`` and ``.log_path`` are Paths.
- ``browser`` (session): a headless Playwright Chromium (``/usr/bin/chromium``; never downloaded).
- ``page_as`` (function): ``page = await page_as(user)`` opens a new browser context logged in as
  ``user`` (a ``TestUser`` from ``factory``: its token is a real login-session token, set as the
  ``flowpilot_session`` cookie; keyword arguments go to ``browser.new_context``, e.g.
  ``viewport=PHONE`` or ``permissions=["notifications"]``) and returns a Page whose relative URLs
  resolve against the live server (``await page.goto("/sessions")``). ``await page_as(None)``
  gives a logged-out page. Contexts are closed after the test.

The browser tests get their OWN database and Redis prefix (``database_url`` and ``redis_prefix``
are overridden below): the live server runs the dispatcher, relay and escalation chain, which
must never take rows from the other tests that share this xdist worker.

Every test here is marked ``e2e``. When a test fails, every open page is saved to
``test-artifacts/<test name>[-N].png`` (with its browser console log as ``.console.txt``) and the
tail of the server log is attached to the report.

``page_as`` depends on ``factory`` (hence on ``db``), so the worker's tables are emptied after each
test; a test that uses ``live_server`` alone must request ``factory`` or ``db`` too.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests import servers
from tests.databases import provision_database
from tests.factories import Factory, TestUser
from tests.servers import ROOT, LiveServer

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COOKIE_NAME = "flowpilot_session"
# Generous waits: the suite shares two cores with parallel workers and Argon2 logins. A
# waiting assertion returns as soon as it holds, so this only bounds how long a failure takes.
EXPECT_TIMEOUT_MS = 15_000
ACTION_TIMEOUT_MS = 20_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    # Fixtures read these to know whether the test failed (screenshots).
    setattr(item, f"rep_{report.when}", report)
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("live server log (tail)", server.log_tail()))
    return report


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The browser tests' own database on this worker (see the module docstring)."""
    yield from provision_database(tmp_path_factory, "_e2e")


@pytest.fixture(scope="session")
def redis_prefix(redis_prefix: str) -> str:
    return f"{redis_prefix}:e2e"


@pytest.fixture(scope="session")
def live_server(
    database_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real FlowPilot server process on a free loopback port, for this xdist worker."""
    settings = {
        "FLOWPILOT_DATABASE_URL": database_url,
        "FLOWPILOT_REDIS_PREFIX": redis_prefix,
        "FLOWPILOT_RUN_WORKERS": "true",
    }
    redis_url = os.environ.get("FLOWPILOT_TEST_REDIS_URL")
    if redis_url:
        settings["FLOWPILOT_REDIS_URL"] = redis_url
    with servers.running((tmp_path_factory.mktemp("live_server"), settings)) as (server,):
        yield server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium (no browser is ever downloaded)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def _artifact_stem(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_") or "test"


def _failed(item: pytest.Item) -> bool:
    return any(
        getattr(getattr(item, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


async def _save_artifacts(item: pytest.Item, pages: list[Page]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = _artifact_stem(item)
    consoles: dict[int, list[str]] = getattr(item, "_e2e_console", {})
    for page in pages:
        if page.is_closed():
            continue
        n = getattr(item, "_e2e_shots", 0) + 1
        item._e2e_shots = n  # type: ignore[attr-defined]
        name = stem if n == 1 else f"{stem}-{n}"
        try:
            await page.screenshot(
                path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=10_000
            )
        except Exception as exc:  # a broken page must not hide the test's own failure
            (ARTIFACTS / f"{name}.screenshot-error.txt").write_text(repr(exc))
        lines = [f"url: {page.url}", *consoles.get(id(page), [])]
        (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture(autouse=True)
async def _e2e_failure_artifacts(
    request: pytest.FixtureRequest, browser: Browser
) -> AsyncIterator[None]:
    """On failure: screenshot pages of contexts a test opened itself, then close them.

    (``page_as`` screenshots and closes its own contexts in its teardown, which runs first.)
    """
    before = set(browser.contexts)
    yield
    leftovers = [c for c in browser.contexts if c not in before]
    if _failed(request.node):
        await _save_artifacts(request.node, [p for c in leftovers for p in c.pages])
    for context in leftovers:
        await context.close()


PageAs = Callable[..., Awaitable[Page]]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def page_as(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer, factory: Factory
) -> AsyncIterator[PageAs]:
    """``await page_as(user)``: a new context logged in as ``user`` (None: logged out)."""
    contexts: list[BrowserContext] = []
    consoles: dict[int, list[str]] = {}
    request.node._e2e_console = consoles

    async def open_page(user: TestUser | None, **options: Any) -> Page:
        options.setdefault("viewport", LAPTOP)
        context = await browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        if user is not None:
            await context.add_cookies(
                [
                    {
                        "name": COOKIE_NAME,
                        "value": user.token,
                        "domain": "127.0.0.1",
                        "path": "/",
                        "httpOnly": True,
                        "sameSite": "Lax",
                    }
                ]
            )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = await context.new_page()
        log = consoles.setdefault(id(page), [])
        page.on("console", lambda msg: log.append(f"console.{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: log.append(f"pageerror: {exc}"))
        return page

    try:
        yield open_page
    finally:
        if _failed(request.node):
            await _save_artifacts(request.node, [p for c in contexts for p in c.pages])
        for context in contexts:
            await context.close()
