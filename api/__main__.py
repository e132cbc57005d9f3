"""``python -m api``: migrate, then serve the API with uvicorn on the configured address."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from config.logs import configure_logging
from config.runtime import settle_gc
from config.settings import Settings
from store.migrate import migrate, wait_for_database


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    dsn = settings.db.dsn()
    wait_for_database(dsn, timeout_s=30)
    migrate(dsn, settings.pings, prefer=settings.db.storage)
    app = create_app(settings)
    settle_gc()
    uvicorn.run(
        app,
        host=settings.api.host,
        port=settings.api.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
