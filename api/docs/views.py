"""Routes of the API docs: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), their assets under
``/docs/assets``, every one of them served by this process.

The assets (``swagger-ui-bundle.js``, ``swagger-ui.css``, ``redoc.standalone.js`` and FastAPI's
favicon) come from the pinned PyPI package ``fastapi-offline``, which ships them as package data:
nothing is fetched at run time and no build output is committed here. Only its files are used,
not its ``FastAPI`` subclass; the pages themselves are FastAPI's own ``get_swagger_ui_html`` and
``get_redoc_html`` pointed at the local copies (without ReDoc's Google Fonts).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the assets are mounted.
ASSETS_PATH = "/docs/assets"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"

#: The docs pages may load images, fonts and data from this origin only. ReDoc's bundle puts
#: Redocly's logo from its CDN in the side menu (hidden when it fails to load); on an intranet
#: that is a request to the internet from a police workstation, so the browser is told not to
#: make it. Scripts and styles are not restricted here (both pages use inline ones).
CONTENT_SECURITY_POLICY = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def assets_dir() -> Path:
    """The folder of the docs assets inside the installed ``fastapi_offline`` package."""
    return Path(str(files("fastapi_offline").joinpath("static")))


def install(app: FastAPI) -> None:
    """Serve the docs pages and their assets on ``app`` (built with ``docs_url=None`` and
    ``redoc_url=None`` so FastAPI's CDN-backed pages are not registered)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    async def swagger_ui() -> HTMLResponse:
        return _local_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{title} · Swagger UI",
                oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
                swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            )
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return _local_only(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{title} · ReDoc",
                redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_api_route(DOCS_PATH, swagger_ui, include_in_schema=False)
    app.add_api_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, include_in_schema=False)
    app.add_api_route(REDOC_PATH, redoc, include_in_schema=False)
