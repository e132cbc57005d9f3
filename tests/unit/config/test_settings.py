"""Settings: environment names, placeholder secrets refused outside development."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from config.settings import Environment, Settings

STRONG = {
    "BW_DB__PASSWORD": "Vq8-long-random-database-password",
    "BW_API__JWT_SECRET": "k" * 16 + "Zr93mXw1pQe7LbT4",
    "BW_MQTT__PASSWORD": "mqtt-Strong-Password-17",
    "BW_ALERTS__MQTT_PASSWORD": "alerts-Strong-Password-23",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No BW_* variables from the test command leak into these settings."""
    for key in list(os.environ):
        if key.startswith("BW_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_nested_sections_come_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BW_DB__PORT", "6543")
    clean_env.setenv("BW_MQTT__HOST", "broker.example")
    settings = Settings()
    assert settings.db.port == 6543
    assert settings.mqtt.host == "broker.example"
    assert settings.environment is Environment.development


@pytest.mark.parametrize("env", ["development", "test"])
def test_placeholders_are_accepted_on_a_developer_machine(
    clean_env: pytest.MonkeyPatch, env: str
) -> None:
    clean_env.setenv("BW_ENVIRONMENT", env)
    assert Settings().environment == env


@pytest.mark.parametrize("env", ["staging", "production"])
def test_placeholders_are_refused_elsewhere(clean_env: pytest.MonkeyPatch, env: str) -> None:
    clean_env.setenv("BW_ENVIRONMENT", env)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "BW_DB__PASSWORD" in str(err.value)
    assert "BW_API__JWT_SECRET" in str(err.value)


@pytest.mark.parametrize("weak", ["changeme", "dev-anything", "bailwatch", ""])
def test_each_placeholder_secret_is_named(clean_env: pytest.MonkeyPatch, weak: str) -> None:
    clean_env.setenv("BW_ENVIRONMENT", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    clean_env.setenv("BW_MQTT__PASSWORD", weak)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "BW_MQTT__PASSWORD" in str(err.value)
    assert "BW_DB__PASSWORD" not in str(err.value)


def test_short_jwt_secret_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BW_ENVIRONMENT", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    clean_env.setenv("BW_API__JWT_SECRET", "Short-But-Not-Placeholder")
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings()


def test_strong_secrets_pass_in_production(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BW_ENVIRONMENT", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    settings = Settings()
    assert settings.environment is Environment.production
    assert settings.to_env()["BW_API__JWT_SECRET"] == STRONG["BW_API__JWT_SECRET"]
