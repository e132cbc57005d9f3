"""``python -m api``: migrate, then serve the API with uvicorn on the configured address; exit 1
when a supervised background loop (the live-stream hub) ends, for the supervisor to restart it."""

from __future__ import annotations

import logging
import sys

import uvicorn

from api.app import create_app
from config.logs import configure_logging
from config.runtime import settle_gc
from config.settings import Settings
from store.migrate import migrate, wait_for_database

log = logging.getLogger(__name__)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    dsn = settings.db.dsn()
    wait_for_database(dsn, timeout_s=30)
    migrate(dsn, settings.pings, prefer=settings.db.storage)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.api.host,
            port=settings.api.port,
            log_config=None,
            access_log=False,
        )
    )
    failed: list[str] = []

    def on_fault(loop: str) -> None:
        """A background loop ended: stop serving (uvicorn's graceful shutdown), then exit 1."""
        failed.append(loop)
        server.should_exit = True

    app.state.on_fault = on_fault
    settle_gc()
    server.run()
    if failed:
        log.critical("api exits", extra={"reason": f"loop {failed[0]!r} ended"})
        sys.exit(1)


if __name__ == "__main__":
    main()
