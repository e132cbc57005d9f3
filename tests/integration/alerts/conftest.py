"""Fixtures of the alerts integration tests: a broker login for the alerts process."""

from __future__ import annotations

import secrets

import pytest

from broker.dynsec import DynsecError
from broker.provision import admin_for
from config.settings import Settings
from tests.support.services import credentials_file, with_broker_credentials

ALERTS_ACLS = [
    ("publishClientSend", "bw/v1/unit/#"),
    ("publishClientSend", "bw/v1/dev/+/cmd"),
    ("subscribePattern", "bw/v1/unit/#"),
    ("publishClientReceive", "bw/v1/unit/#"),
]


@pytest.fixture(scope="session")
def alerts_login(services_ready: Settings) -> tuple[str, str]:
    """The alerts process's broker login: from the run dir's credentials file when
    deploy/services.sh made one, else created here with the dynsec admin."""
    path = credentials_file(services_ready)
    values = dict(
        line.split("=", 1) for line in path.read_text().splitlines() if "=" in line
    ) if path.exists() else {}  # fmt: skip
    if values.get("BW_ALERTS__MQTT_USERNAME"):
        return values["BW_ALERTS__MQTT_USERNAME"], values["BW_ALERTS__MQTT_PASSWORD"]
    settings = with_broker_credentials(services_ready)
    username, password = "bw-alerts-test", secrets.token_urlsafe(18)
    with admin_for(settings.mqtt) as admin:
        acls = [{"acltype": k, "topic": t, "allow": True} for k, t in ALERTS_ACLS]
        try:
            admin.command("createRole", rolename="alerts-test", acls=acls)
        except DynsecError as exc:
            if "already exists" not in str(exc).lower():
                raise
        if admin.client_exists(username):
            admin.command("setClientPassword", username=username, password=password)
        else:
            admin.command(
                "createClient", username=username, password=password,
                roles=[{"rolename": "alerts-test"}],
            )  # fmt: skip
    return username, password


@pytest.fixture
def alert_settings(settings: Settings, alerts_login: tuple[str, str]) -> Settings:
    """The test's settings with the alerts login, quick rounds and quick webhook retries."""
    username, password = alerts_login
    alerts = settings.alerts.model_validate(
        {
            **settings.alerts.model_dump(),
            "mqtt_username": username,
            "mqtt_password": password,
            "mqtt_client_id": f"{settings.ingest.client_id}-alerts",
            "metrics_port": 0,
            "watchdog_interval_s": 0.5,
            "drain_poll_s": 0.5,
            "webhook_backoff_base_s": 0.2,
            "webhook_backoff_max_s": 1.0,
            "webhook_timeout_s": 3.0,
            "stream_heartbeat_s": 0.5,
        }
    )
    return settings.model_copy(update={"alerts": alerts})
