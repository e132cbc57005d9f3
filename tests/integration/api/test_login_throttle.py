"""Login throttling shared through PostgreSQL: two app instances (two pools, as two API
processes) share one count per key, concurrent attempts cannot overshoot it, an officer's typos
lock only their account from their address (never the station behind its NAT address), a
sprayer is stopped per address, a good login forgets the username's failures but not the
address's, old failures are purged, and every attempt is in the audit trail."""

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


def _limits(settings: Settings, **limits: int) -> Settings:
    return settings.model_copy(update={"api": settings.api.model_copy(update=limits)})


def test_two_processes_share_the_limit(api_settings: Settings, seeded: world.World) -> None:
    limit = api_settings.api.login_max_failures
    here, elsewhere = "198.51.100.7", "192.0.2.9"
    wrong = [(i % 2, here, "pros1", "wrong") for i in range(limit)]
    assert _run(api_settings, wrong) == [401] * limit
    assert _failures(api_settings) == {
        f"pair:pros1@{here}": limit, "user:pros1": limit, f"addr:{here}": limit
    }  # fmt: skip
    right = world.password("pros1")
    (a, b) = asyncio.run(
        _logins(api_settings, [(0, here, "pros1", right), (1, here, "pros1", right)])
    )
    for r in (a, b):
        assert r.status_code == 429, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert 0 < int(r.headers["retry-after"]) <= api_settings.api.login_window_s
    # The same officer from another address is not locked out by the typos made here.
    assert _run(api_settings, [(1, elsewhere, "pros1", right)]) == [200]
    assert _failures(api_settings) == {f"pair:pros1@{here}": limit, f"addr:{here}": limit}


def test_concurrent_attempts_cannot_overshoot(api_settings: Settings, seeded: world.World) -> None:
    """Fourteen wrong passwords at once, from fourteen addresses, half on each instance: the
    username's limit admits exactly ``login_max_failures_account`` of them."""
    limit = api_settings.api.login_max_failures_account
    attempts = [(i % 2, f"203.0.113.{i}", "police2", "wrong") for i in range(limit + 4)]
    codes = sorted(r.status_code for r in asyncio.run(_logins(api_settings, attempts)))
    assert codes == [401] * limit + [429] * 4
    assert _failures(api_settings)["user:police2"] == limit


def test_one_officers_typos_never_lock_out_the_station(
    api_settings: Settings, seeded: world.World
) -> None:
    """A station behind one NAT address: an officer who keeps mistyping is stopped by the
    account-and-address limit, long before the address's; everyone else there logs in."""
    a = api_settings.api
    assert a.login_max_failures <= a.login_max_failures_account < a.login_max_failures_address
    station = "100.64.0.1"
    codes = _run(api_settings, [(0, station, "police1", "typo")] * (a.login_max_failures + 3))
    assert codes == [401] * a.login_max_failures + [429] * 3
    assert _failures(api_settings)[f"addr:{station}"] == a.login_max_failures
    others = [(i % 2, station, u, world.password(u)) for i, u in enumerate(("super1", "pros1"))]
    assert _run(api_settings, others) == [200, 200]


def test_a_sprayer_is_stopped_per_address(api_settings: Settings, seeded: world.World) -> None:
    settings = _limits(api_settings, login_max_failures_address=6)
    sprayer = "198.51.100.99"
    spray = [(0, sprayer, f"guess{i}", "123456") for i in range(6)]
    assert _run(settings, spray) == [401] * 6
    right = world.password("police1")
    assert _run(settings, [(1, sprayer, "police1", right), (1, "198.51.100.98", "police1", right)]
                ) == [429, 200]  # fmt: skip


def test_success_clears_the_username_not_the_address(
    api_settings: Settings, seeded: world.World
) -> None:
    settings = _limits(api_settings, login_max_failures_address=api_settings.api.login_max_failures)
    limit = settings.api.login_max_failures
    here, elsewhere = "198.51.100.20", "198.51.100.21"
    codes = _run(
        settings,
        [(0, here, "super1", "wrong")] * (limit - 1)
        + [(1, here, "super1", world.password("super1"))],
    )
    assert codes == [401] * (limit - 1) + [200]
    assert _failures(settings) == {f"addr:{here}": limit - 1}
    assert _run(
        settings,
        [(1, here, "super2", "wrong"), (0, here, "super1", world.password("super1")),
         (0, elsewhere, "super1", world.password("super1"))],
    ) == [401, 429, 200]  # fmt: skip


def test_old_failures_expire_and_are_purged(api_settings: Settings, seeded: world.World) -> None:
    window = api_settings.api.login_window_s
    limit = api_settings.api.login_max_failures_account
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
        "pair:police1@192.0.2.50": 1, "user:police1": 1, "addr:192.0.2.50": 1, "user:admin": limit
    }  # fmt: skip
    (r,) = asyncio.run(_logins(api_settings, [(1, "192.0.2.51", "admin", world.password("admin"))]))
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) in (9, 10, 11)


def test_every_login_attempt_is_audited_without_the_password(
    api_settings: Settings, seeded: world.World
) -> None:
    settings = _limits(api_settings, login_max_failures=1)
    address = "192.0.2.123"
    secret_typo = "hunter2-not-my-password"
    codes = _run(
        settings,
        [(0, address, "super2", secret_typo), (1, address, "super2", world.password("super2")),
         (0, "192.0.2.124", "super2", world.password("super2")),
         (1, "192.0.2.124", "nobody-here", secret_typo)],
    )  # fmt: skip
    assert codes == [401, 429, 200, 401]
    with psycopg.connect(api_settings.db.dsn()) as conn:
        entries = conn.execute(
            "SELECT principal, user_id, action, purpose, detail FROM access_log "
            "WHERE action = 'auth.login' AND detail->>'address' IN (%s, %s) ORDER BY id",
            (address, "192.0.2.124"),
        ).fetchall()
        leaked = conn.execute(
            "SELECT count(*) FROM access_log WHERE access_log::text LIKE %s",
            (f"%{secret_typo}%",),
        ).fetchone()
    user_id = seeded.users["super2"]
    assert [(e[0], e[1], e[4]["outcome"], e[4]["address"]) for e in entries] == [
        ("super2", user_id, "failed", address),
        ("super2", None, "throttled", address),
        ("supervisor:super2", user_id, "succeeded", "192.0.2.124"),
        ("nobody-here", None, "failed", "192.0.2.124"),
    ]
    assert [e[4].get("reason") for e in entries] == [
        "wrong_password", None, None, "unknown_user"
    ]  # fmt: skip
    assert all(e[2] == "auth.login" and e[3] == "authentication" for e in entries)
    assert leaked == (0,)
