"""Fixtures of the API tests: one seeded database and one app per test module (the routes are
read-mostly; tests that change state use their own rows), a token per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from config.settings import Settings
from tests.integration.api import world
from tests.support import services


@pytest.fixture(scope="module")
def api_settings(services_ready: Settings) -> Iterator[Settings]:
    with services.fresh_database(services_ready) as db_settings:
        yield services.with_broker_credentials(db_settings)


@pytest.fixture(scope="module")
def seeded(api_settings: Settings) -> world.World:
    w = world.build(api_settings)
    lon, lat = world.CENTRE
    fixes = [
        (world.T0 + timedelta(minutes=i), lon + i * 1e-4, lat + (i % 7) * 1e-5, 8.0)
        for i in range(120)
    ]
    world.insert_fixes(api_settings, w.device, w.case_a, fixes)
    return w


@pytest.fixture(scope="module")
def client(api_settings: Settings, seeded: world.World) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as c:
        yield c


@pytest.fixture(scope="module")
def token(client: TestClient) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a world user, logged in once per module."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            r = client.post(
                "/auth/token", data={"username": username, "password": world.password(username)}
            )
            assert r.status_code == 200, r.text
            cache[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return cache[username]

    return headers
