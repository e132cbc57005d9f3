"""Shared helpers of the ingest integration tests: payloads, queries, ingester processes."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from config.settings import Settings
from tests.support import services

BASE_LAT, BASE_LON = 31.2304, 121.4737  # Shanghai


def now_ms() -> int:
    return int(time.time() * 1000)


def fix(ts: int, seq: int, *, lat: float = BASE_LAT, lon: float = BASE_LON, acc: float = 8.0,
        **extra: object) -> dict[str, object]:  # fmt: skip
    return {"ts": ts, "lat": lat, "lon": lon, "acc": acc, "src": "gnss", "seq": seq, **extra}


def loc(device_id: str, body: object) -> tuple[str, bytes]:
    return f"bw/v1/dev/{device_id}/loc", json.dumps(body).encode()


def scalar(settings: Settings, sql: str, *params: object) -> Any:
    with psycopg.connect(settings.db.dsn()) as conn:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


def rows(settings: Settings, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.db.dsn()) as conn:
        return conn.execute(sql, params).fetchall()


def count_pings(settings: Settings) -> int:
    return int(scalar(settings, "SELECT count(*) FROM pings"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_metrics(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"metrics_port": free_port()})}
    )


def metric(settings: Settings, name: str, labels: str = "") -> float:
    """Sum of a metric's samples on the ingester's /metrics (0 if absent)."""
    url = f"http://127.0.0.1:{settings.ingest.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=2).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (not labels or labels in line):
            head, _, value = line.rpartition(" ")
            if head.split("{")[0] == name:
                total += float(value)
    return total


@contextmanager
def ingester(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m ingest`` with these settings, subscribed before this yields."""
    with services.service_process("ingest", settings) as proc:
        services.wait_for_log(proc, "mqtt subscribed")
        yield proc


def services_sh(settings: Settings, command: str) -> None:
    """Run ``deploy/services.sh COMMAND`` against the test services (same ports, run dir)."""
    env = {
        "BW_RUN_DIR": settings.run_dir,
        "BW_DB__PORT": str(settings.db.port),
        "BW_MQTT__PORT": str(settings.mqtt.port),
        "BW_DB__USER": settings.db.user,
        "BW_DB__PASSWORD": settings.db.password.get_secret_value(),
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    subprocess.run(
        ["bash", str(services.ROOT / "deploy/services.sh"), command],
        cwd=services.ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
