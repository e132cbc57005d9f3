"""Retention: purge the position data of cases released more than the configured number of days
ago, unless a legal hold is set; every purge is written to ``purge_log``.

    python -m api.retention        (BW_API__RELEASED_RETENTION_DAYS, default 180)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from config.logs import configure_logging
from config.settings import Settings
from store import pings
from store import retention as sql
from store.pool import open_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purge:
    case_id: int
    released_at: datetime
    pings_deleted: int


async def purge(*, conn: asyncpg.Connection, retention_days: int) -> list[Purge]:
    """Purge every due case in one transaction; returns what was purged."""
    done = []
    async with conn.transaction():
        for row in await conn.fetch(sql.SELECT_DUE, retention_days):
            deleted = await conn.fetchval(pings.DELETE_CASE_PINGS, row["id"])
            await conn.execute(sql.MARK_PURGED, row["id"])
            await conn.execute(
                sql.INSERT_PURGE, row["id"], row["released_at"], retention_days, deleted
            )
            done.append(Purge(row["id"], row["released_at"], int(deleted)))
            log.info("purged position data", extra={"case_id": row["id"], "pings": deleted})
    return done


async def _main(settings: Settings) -> int:
    async with (
        open_pool(settings.db, application_name="bailwatch-retention") as pool,
        pool.acquire() as conn,
    ):
        done = await purge(conn=conn, retention_days=settings.api.released_retention_days)
    print(f"retention: {len(done)} case(s) purged, {sum(p.pings_deleted for p in done)} fixes")
    return 0


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    raise SystemExit(asyncio.run(_main(settings)))


if __name__ == "__main__":
    main()
