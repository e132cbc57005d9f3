"""Login throttling shared through PostgreSQL: two app instances (two pools, as two API
processes) share one count per key, concurrent attempts cannot overshoot it, a good login
forgets the username's failures but not the address's, and old failures are purged."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api.app import create_app
from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_failures(api_settings: Settings, seeded: world.World) -> None:
    """Each test starts with no recorded failure."""
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        conn.execute("DELETE FROM login_failures")


def _failures(settings: Settings) -> dict[str, int]:
    with psycopg.connect(settings.db.dsn()) as conn:
        rows = conn.execute("SELECT key, count(*) FROM login_failures GROUP BY key").fetchall()
    return {k: n for k, n in rows}


async def _logins(
    settings: Settings, attempts: list[tuple[int, str, str, str]]
) -> list[httpx.Response]:
    """Run ``(app, address, username, password)`` attempts concurrently against two app
    instances, each with its own pool; responses in the order of ``attempts``."""
    apps: list[FastAPI] = [create_app(settings), create_app(settings)]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        clients: dict[tuple[int, str], httpx.AsyncClient] = {}
        for app_no, address, _, _ in attempts:
            if (app_no, address) not in clients:
                transport = httpx.ASGITransport(app=apps[app_no], client=(address, 40000))
                clients[app_no, address] = await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://api")
                )
        return list(
            await asyncio.gather(
                *(
                    clients[app_no, address].post(
                        "/auth/token", data={"username": user, "password": pw}
                    )
                    for app_no, address, user, pw in attempts
                )
            )
        )


def _run(settings: Settings, attempts: list[tuple[int, str, str, str]]) -> list[int]:
    """Status codes of ``attempts`` made one after the other (see ``_logins``)."""

    async def one_by_one() -> list[int]:
        return [(await _logins(settings, [a]))[0].status_code for a in attempts]

    return asyncio.run(one_by_one())


def test_two_processes_share_the_limit(api_settings: Settings, seeded: world.World) -> None:
    limit = api_settings.api.login_max_failures
    wrong = [(i % 2, "198.51.100.7", "pros1", "wrong") for i in range(limit)]
    assert _run(api_settings, wrong) == [401] * limit
    right = world.password("pros1")
    (a, b) = asyncio.run(
        _logins(
            api_settings, [(0, "198.51.100.7", "pros1", right), (1, "192.0.2.9", "pros1", right)]
        )
    )
    for r in (a, b):
        assert r.status_code == 429, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert 0 < int(r.headers["retry-after"]) <= api_settings.api.login_window_s
    assert _failures(api_settings) == {"user:pros1": limit, "addr:198.51.100.7": limit}


def test_concurrent_attempts_cannot_overshoot(api_settings: Settings, seeded: world.World) -> None:
    """Twelve wrong passwords at once, from twelve addresses, half on each instance: the
    username's limit admits exactly ``max_failures`` of them."""
    limit = api_settings.api.login_max_failures
    attempts = [(i % 2, f"203.0.113.{i}", "police2", "wrong") for i in range(12)]
    codes = sorted(r.status_code for r in asyncio.run(_logins(api_settings, attempts)))
    assert codes == [401] * limit + [429] * (12 - limit)
    assert _failures(api_settings)["user:police2"] == limit


def test_success_clears_the_username_not_the_address(
    api_settings: Settings, seeded: world.World
) -> None:
    limit = api_settings.api.login_max_failures
    here, elsewhere = "198.51.100.20", "198.51.100.21"
    codes = _run(
        api_settings,
        [(0, here, "super1", "wrong")] * (limit - 1)
        + [(1, here, "super1", world.password("super1"))],
    )
    assert codes == [401] * (limit - 1) + [200]
    assert _failures(api_settings) == {f"addr:{here}": limit - 1}
    assert _run(
        api_settings,
        [(1, here, "super2", "wrong"), (0, here, "super1", world.password("super1")),
         (0, elsewhere, "super1", world.password("super1"))],
    ) == [401, 429, 200]  # fmt: skip


def test_old_failures_expire_and_are_purged(api_settings: Settings, seeded: world.World) -> None:
    window = api_settings.api.login_window_s
    limit = api_settings.api.login_max_failures
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO login_failures (key, failed_at) SELECT k, now() - make_interval(secs => "
            "%s) FROM unnest(%s::text[]) k, generate_series(1, %s)",
            (window + 1, ["user:police1", "addr:192.0.2.50", "user:gone"], limit),
        )
        conn.execute(
            "INSERT INTO login_failures (key, failed_at) SELECT 'user:admin', now() - "
            "make_interval(secs => %s) FROM generate_series(1, %s)",
            (window - 10, limit),
        )
    assert _run(api_settings, [(0, "192.0.2.50", "police1", "wrong")]) == [401]
    assert _failures(api_settings) == {
        "user:police1": 1, "addr:192.0.2.50": 1, "user:admin": limit
    }  # fmt: skip
    (r,) = asyncio.run(_logins(api_settings, [(1, "192.0.2.51", "admin", world.password("admin"))]))
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) in (9, 10, 11)
