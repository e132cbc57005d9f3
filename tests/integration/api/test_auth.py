"""Auth: the password flow, refresh rotation, refusals, throttling, and the demo seed's users."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from config.settings import Settings
from sim.seed import seed
from tests.integration.api import world

pytestmark = pytest.mark.integration


def _login(client: TestClient, username: str, pw: str) -> dict[str, object]:
    r = client.post("/auth/token", data={"username": username, "password": pw})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_password_flow_and_me(client: TestClient) -> None:
    tokens = _login(client, "police1", world.password("police1"))
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "police"


def test_wrong_password_is_a_problem(client: TestClient) -> None:
    r = client.post("/auth/token", data={"username": "police2", "password": "nope"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "wrong username or password"
    r = client.post("/auth/token", data={"username": "nobody", "password": "nope"})
    assert r.json()["detail"] == "wrong username or password"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer garbage", "Basic cG9saWNlMTpwdw=="],
)
def test_missing_or_bad_token_refused(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = client.get("/cases", headers=headers)
    assert r.status_code == 401
    assert r.json()["status"] == 401


def test_refresh_token_is_single_use_and_not_an_access_token(client: TestClient) -> None:
    tokens = _login(client, "super1", world.password("super1"))
    r = client.get("/cases", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 401
    again = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200
    assert again.json()["access_token"] != tokens["access_token"]
    replay = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]


def test_expired_token_refused(api_settings: Settings, seeded: world.World) -> None:
    short = api_settings.model_copy(
        update={"api": api_settings.api.model_copy(update={"access_token_ttl_s": -1})}
    )
    with TestClient(create_app(short)) as c:
        tokens = _login(c, "police1", world.password("police1"))
        r = c.get("/cases", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


def test_login_is_rate_limited(api_settings: Settings, seeded: world.World) -> None:
    # An address of its own: the module's other tests fail logins from the default one.
    with TestClient(create_app(api_settings), client=("192.0.2.77", 50000)) as c:
        for _ in range(api_settings.api.login_max_failures):
            r = c.post("/auth/token", data={"username": "pros1", "password": "wrong"})
            assert r.status_code == 401
        r = c.post("/auth/token", data={"username": "pros1", "password": world.password("pros1")})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["title"] == "Too many requests"


def test_demo_seed_users_can_log_in(settings: Settings) -> None:
    """The users ``python -m sim.seed`` writes (argon2 hashes) log in with the demo passwords."""
    asyncio.run(seed(settings, devices=3))
    with TestClient(create_app(settings)) as c:
        for username, pw in (
            ("police.dyq", "demo-police-dyq"),
            ("prosecutor.dyq", "demo-prosecutor"),
            ("admin", "demo-admin"),
            ("auditor", "demo-auditor"),
        ):
            _login(c, username, pw)
        tokens = _login(c, "police.dyq", "demo-police-dyq")
        cases = c.get("/cases", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert cases.status_code == 200
        assert cases.json()["items"], "the Dongying station sees its demo cases"
