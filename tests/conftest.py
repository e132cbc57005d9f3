"""Fixtures shared by the whole suite.

Integration fixtures talk to the real PostgreSQL and Mosquitto that ``make test`` starts
(throwaway copies under ``.run/test``); each test gets its own database copied from a migrated
template and its own MQTT identity, so tests do not see each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.settings import Settings
from tests.support import services


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """Settings from the environment the test command exported (ports, credentials)."""
    return Settings()


@pytest.fixture(scope="session")
def services_ready(base_settings: Settings) -> Settings:
    """Checks the services are up and builds the migrated template database once."""
    services.require_services(base_settings)
    services.build_template(base_settings)
    return base_settings


@pytest.fixture
def settings(services_ready: Settings) -> Iterator[Settings]:
    """Settings pointing at a fresh database and a unique ingester identity."""
    with services.fresh_database(services_ready) as db_settings:
        isolated = services.isolated_mqtt(db_settings)
        yield isolated
        services.drop_mqtt_session(isolated, isolated.ingest.client_id)
