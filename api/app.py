"""The FastAPI application: built by ``create_app(settings)``, nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from api import health, metrics
from api.alerts import views as alerts
from api.audit import views as audit
from api.auth import views as auth
from api.auth.ratelimit import LoginThrottle
from api.cases import views as cases
from api.compliance import views as compliance
from api.deposits import views as deposits
from api.devices import views as devices
from api.directory import views as directory
from api.docs import views as docs
from api.errors import install_handlers
from api.permits import views as permits
from api.positions import views as positions
from api.rules import views as rules
from api.stream import views as alert_stream
from api.tracks import views as tracks
from api.zones import views as zones
from config.settings import Settings
from store.pool import open_pool

#: Routers in the order they appear in the OpenAPI document.
ROUTERS = (
    auth.router,
    directory.router,
    cases.router,
    devices.router,
    zones.router,
    rules.router,
    permits.router,
    tracks.router,
    positions.router,
    alert_stream.router,  # before alerts: /alerts/stream is not an alert id
    alerts.router,
    compliance.router,
    deposits.router,
    deposits.listing,
    audit.router,
)


def create_app(settings: Settings) -> FastAPI:
    """An app whose lifespan opens the database pool and closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.pool = await stack.enter_async_context(
                open_pool(settings.db, application_name="bailwatch-api")
            )
            yield

    app = FastAPI(
        title="bailwatch API",
        version="0.2.0",
        description=(
            "Positions, alerts and compliance of defendants released on bail (取保候审) or under "
            "residential surveillance (监视居住), for police and prosecutors. Authenticate with "
            "the OAuth2 password flow (POST /auth/token). Every query is scoped to the caller's "
            "unit; another unit's case answers 404. Reading position data needs a `purpose` and "
            "is written to the access log. Errors are RFC 9457 problem details."
        ),
        lifespan=lifespan,
        docs_url=None,  # self-hosted below (api.docs): no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle.from_settings(settings.api)
    install_handlers(app)
    docs.install(app)
    app.middleware("http")(metrics.observe)
    app.include_router(health.router)
    app.include_router(metrics.router)
    for router in ROUTERS:
        app.include_router(router)
    return app
