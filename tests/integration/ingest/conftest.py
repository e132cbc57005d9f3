"""Fixtures of the ingest integration tests."""

from __future__ import annotations

import pytest

from config.settings import Settings


@pytest.fixture(params=["paho", "asyncio"])
def any_client(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test's settings with each of the ingester's MQTT clients in turn."""
    return settings.model_copy(
        update={"mqtt": settings.mqtt.model_copy(update={"client": request.param})}
    )
