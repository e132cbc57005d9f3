"""The asyncpg connection pool used on the hot path (ingest) and by the API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from config.settings import DatabaseSettings


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Codecs for every pooled connection: jsonb <-> Python objects, UTC session."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def open_pool(db: DatabaseSettings, *, application_name: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool for the lifetime of the block; on exit waits for released connections, then closes.

    ``application_name`` shows in ``pg_stat_activity`` so operators see which service holds what.
    """
    pool = await asyncpg.create_pool(
        dsn=db.dsn(),
        min_size=db.pool_min,
        max_size=db.pool_max,
        ssl=db.ssl,
        timeout=db.connect_timeout_s,
        init=_init_connection,
        server_settings={"application_name": application_name, "timezone": "UTC"},
    )
    try:
        yield pool
    finally:
        try:
            await pool.close()
        except Exception:
            pool.terminate()
            raise
