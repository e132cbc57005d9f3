"""The simulator against the real broker: well-formed v1 messages on the right topics."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
import pytest

from config.settings import Settings
from sim.credentials import write_device_credentials
from sim.payloads import Status, decode_loc
from tests.support import services

pytestmark = pytest.mark.integration


class Collector:
    """Subscribes to every watch topic and keeps what arrives."""

    def __init__(self, settings: Settings) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        # The ingester's login may read every watch's uplink; the simulator's may not.
        m = services.with_broker_credentials(settings).mqtt
        assert m.username is not None
        assert m.password is not None
        self.client = services.mqtt_client(
            settings, username=m.username, password=m.password.get_secret_value()
        )
        self.client.on_message = self._on_message
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe("bw/v1/dev/+/+", qos=1)
        assert done.wait(5)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def as_simulator(settings: Settings) -> Settings:
    """Settings whose own MQTT login is the simulator's (it may publish for any watch)."""
    m = services.with_broker_credentials(settings).mqtt
    assert m.sim_username is not None
    mqtt_settings = m.model_copy(update={"username": m.sim_username, "password": m.sim_password})
    return settings.model_copy(update={"mqtt": mqtt_settings})


def run_sim(settings: Settings, *args: str) -> dict[str, float]:
    env = {**as_simulator(settings).to_env(), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=services.ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    figures: dict[str, float] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return figures


def test_demo_watches_publish_v1(settings: Settings, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    settings = settings.model_copy(update={"run_dir": str(run_dir)})
    # Watches listed in the credentials file connect with their own provisioned login (the
    # broker refuses anyone else, and lets each publish only under its own topics); the fourth
    # is not listed and falls back to the simulator's login.
    creds = {}
    for k in range(1, 4):
        issued = services.provision_test_device(settings, f"dw-{k:04d}")
        creds[issued.device_id] = (issued.username, issued.password)
    write_device_credentials(run_dir / "demo" / "device-credentials.json", creds)
    collector = Collector(settings)
    try:
        figures = run_sim(settings, "--duration", "3", "--interval", "0.5", "--devices", "4")
        services.wait_until(
            lambda: len(collector.messages) >= figures["messages"] + figures["status_messages"],
            timeout_s=5,
            what="all simulator messages",
        )
    finally:
        collector.close()
    by_topic: dict[str, list[bytes]] = {}
    for t, payload in collector.messages:
        by_topic.setdefault(t, []).append(payload)
    devices = [f"dw-{k:04d}" for k in range(1, 5)]
    assert {f"bw/v1/dev/{d}/loc" for d in devices} <= by_topic.keys()
    assert {f"bw/v1/dev/{d}/status" for d in devices} <= by_topic.keys()
    assert by_topic.keys() <= {f"bw/v1/dev/{d}/{k}" for d in devices for k in ("loc", "status")}
    for d in devices:
        fixes = [f for p in by_topic[f"bw/v1/dev/{d}/loc"] for f in decode_loc(p)]
        assert len(fixes) >= 3
        seqs = [f.seq for f in sorted(fixes, key=lambda f: f.ts)]
        assert seqs == sorted(set(seqs))
        for p in by_topic[f"bw/v1/dev/{d}/status"]:
            status = msgspec.json.decode(p, type=Status)
            assert status.strap == "closed"
            assert 0 <= status.batt <= 100
    assert 0.8 * 8 * 3 <= figures["fixes"] <= 8 * 3 + 4


def test_high_rate_mode_reports_the_achieved_rate(settings: Settings) -> None:
    figures = run_sim(settings, "--devices", "500", "--rate", "1000", "--duration", "2")
    assert figures["target_rate_per_s"] == 1000
    assert figures["achieved_rate_per_s"] >= 800
    assert figures["acked"] == figures["messages"] + figures["status_messages"]
