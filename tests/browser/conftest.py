"""Browser tests: Playwright for Python driving Debian's ``chromium`` package against the real API
(its own process on a free loopback port, over a fresh test database).

Playwright's own browser builds are never downloaded (``playwright install`` cannot reach its
host here): the page runs in ``/usr/bin/chromium``, which the project's set-up installs. If it is
missing the tests fail, saying so; they are never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from config.settings import Settings
from tests.integration.ingest.helpers import free_port
from tests.support import services

#: The browser the tests drive: Debian's ``chromium`` package.
CHROMIUM = Path("/usr/bin/chromium")

#: Flags for a headless run that reaches nothing on its own (no updates, sync, or GPU).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

LOOPBACK = "127.0.0.1"


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    """The base URL of the real API (``python -m api``) serving a fresh database."""
    api_settings = settings.model_copy(
        update={"api": settings.api.model_copy(update={"port": free_port()})}
    )
    base = f"http://{LOOPBACK}:{api_settings.api.port}"
    with services.service_process("api", api_settings):
        services.wait_until(lambda: _ready(base), timeout_s=30, what="API ready")
        yield base


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian chromium, launched for one test (about a second).

    Function-scoped on purpose: while Playwright's sync driver is running, its event loop is the
    thread's running loop, and every later test that calls ``asyncio.run`` would fail."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: browser tests need Debian's chromium package "
            "(apt-get install chromium); Playwright's own browsers are not used",
            pytrace=False,
        )
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Offline:
    """Every request the page makes that is not to 127.0.0.1 is aborted, and remembered."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOOPBACK or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline() -> Offline:
    return Offline()


@pytest.fixture
def page(browser: Browser, offline: Offline) -> Iterator[Page]:
    """A fresh page in its own context whose network stops at the loopback interface."""
    context: BrowserContext = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.route("**/*", offline.route)
    try:
        yield context.new_page()
    finally:
        context.close()
