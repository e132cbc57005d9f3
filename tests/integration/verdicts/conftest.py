"""The stage of the verdict scenarios, one per module: a fresh database with the API tests'
world (units, users, city and victim zones) and a home zone, one real ingester subscribed to the
broker, and the API app in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from api.app import create_app
from config.settings import Settings
from tests.integration.api import world
from tests.integration.ingest.helpers import ingester
from tests.integration.verdicts.stage import LIVE, Stage, execute
from tests.support import services


@pytest.fixture(scope="module")
def stage(services_ready: Settings) -> Iterator[Stage]:
    with services.fresh_database(services_ready) as db:
        settings = services.isolated_mqtt(db)
        w = world.build(settings)
        home = execute(
            settings,
            "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) VALUES "
            "(%s, '住处', 'circle', %s, 500) RETURNING id",
            w.units["P1"], Jsonb({"type": "Point", "coordinates": list(LIVE)}),
        )  # fmt: skip
        tokens: dict[str, dict[str, str]] = {}
        try:
            with ingester(settings), TestClient(create_app(settings)) as client:

                def token(username: str) -> dict[str, str]:
                    if username not in tokens:
                        login = {"username": username, "password": world.password(username)}
                        r = client.post("/auth/token", data=login)
                        assert r.status_code == 200, r.text
                        tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
                    return tokens[username]

                yield Stage(settings, w, client, token, int(home))
        finally:
            services.drop_mqtt_session(settings, settings.ingest.client_id)
