"""The stream hub's LISTEN connection under quick start and stop (an app started and stopped at
once, as the tests that run several app instances do): nothing is left open or unretrieved."""

from __future__ import annotations

import asyncio
import gc

import pytest

from api.stream.service import StreamHub
from config.settings import Settings
from store.pool import open_pool

pytestmark = pytest.mark.integration


def test_hub_stopped_while_connecting_leaves_nothing_behind(settings: Settings) -> None:
    loop_errors: list[dict[str, object]] = []

    async def run() -> int:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
        async with open_pool(settings.db, application_name="bw-test-hub") as pool:
            for i in range(30):
                async with StreamHub(pool, settings.db, settings.alerts):
                    await asyncio.sleep(0.002 * (i % 6))  # stop at every stage of the connect
            await asyncio.sleep(0.2)
            listening: int = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
            return listening

    assert asyncio.run(run()) == 0
    gc.collect()  # an unclosed socket would warn here (an error under the test settings)
    assert loop_errors == []
