"""``/docs`` (Swagger UI) and ``/redoc`` render the API's operations with the network cut at the
loopback interface: their assets are served by the API itself, not a CDN."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import Offline

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: Generous: a cold headless chromium on a shared 2-core machine parses ~1.5 MB of JS.
TIMEOUT_MS = 30_000

#: An operation every version of the API documents (its summary, as the pages show it).
TRACK_SUMMARY = "A case's fixes in [from, to) as a GeoJSON FeatureCollection"


def _record(page: Page) -> list[Response]:
    """Every response the page receives, in order (Playwright needs a Python function here)."""
    seen: list[Response] = []

    def add(response: Response) -> None:
        seen.append(response)

    page.on("response", add)
    return seen


def _local_assets(responses: list[Response], base: str) -> list[str]:
    return [r.url for r in responses if r.url.startswith(f"{base}/docs/assets/") and r.ok]


def test_swagger_ui_renders_offline(page: Page, api_url: str, offline: Offline) -> None:
    responses = _record(page)
    page.goto(f"{api_url}/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=TIMEOUT_MS)
    expect(
        page.locator(".opblock-summary-path", has_text="/cases/{case_id}/track").first
    ).to_be_visible()
    expect(page.get_by_text(TRACK_SUMMARY).first).to_be_visible()
    assert operations.count() > 20
    assert offline.blocked == []
    assert set(_local_assets(responses, api_url)) >= {
        f"{api_url}/docs/assets/swagger-ui-bundle.js",
        f"{api_url}/docs/assets/swagger-ui.css",
    }


def test_redoc_renders_offline(page: Page, api_url: str, offline: Offline) -> None:
    responses = _record(page)
    page.goto(f"{api_url}/redoc")
    operation = page.locator("h2", has_text=TRACK_SUMMARY)  # its section, not the side menu
    expect(operation).to_be_visible(timeout=TIMEOUT_MS)
    assert page.locator("h2").count() > 20
    expect(page.locator("h1").first).to_contain_text("bailwatch API")
    assert offline.blocked == []
    assert f"{api_url}/docs/assets/redoc.standalone.js" in _local_assets(responses, api_url)


CDN_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
FETCH_CDN = f"() => fetch('{CDN_CSS}').then(r => r.status, e => 'failed')"


def test_network_cut_is_real(page: Page, api_url: str, offline: Offline) -> None:
    """The guard itself: from a page without a policy (``/healthz``) a request to a CDN is
    aborted by the route and recorded; from ``/docs`` the page's own policy refuses it before
    it reaches the network."""
    page.goto(f"{api_url}/healthz")
    assert page.evaluate(FETCH_CDN) == "failed"
    assert offline.blocked == [CDN_CSS]
    page.goto(f"{api_url}/docs")
    assert page.evaluate(FETCH_CDN) == "failed"
    assert offline.blocked == [CDN_CSS]
