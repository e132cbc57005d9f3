"""The ingester processes of a bench.ingest phase: ``n`` of one shared subscription group, each
serving /metrics on its own port, with their counters added up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.ingest_tools import cpu_seconds, metrics, wait_metric, wait_until
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def start_ingester(
    settings: Settings, kind: str, group: str, index: int, port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    """``python -m ingest`` with MQTT client ``kind`` as member ``index`` of ``group``."""
    env = {
        **os.environ,
        **settings.to_env(),
        "BW_INGEST__CLIENT_ID": f"{group}-{index}",
        "BW_MQTT__SHARED_GROUP": group,
        "BW_INGEST__METRICS_PORT": str(port),
        "BW_MQTT__CLIENT": kind,
    }
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "ingest"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


class Ingesters:
    """``n`` ingester processes of ``group``, on /metrics ports ``port``, ``port + 1``, ..."""

    def __init__(
        self, settings: Settings, kind: str, group: str, n: int, port: int, log_path: Path
    ) -> None:
        self.ports = [port + i for i in range(n)]
        self.procs = [
            start_ingester(settings, kind, group, i, p, log_path) for i, p in enumerate(self.ports)
        ]

    def total(self, key: str) -> float:
        """``key`` summed over the processes."""
        return sum(metrics(p).get(key, 0.0) for p in self.ports)

    def wait_total(self, key: str, target: float, timeout_s: float) -> float:
        """perf_counter() when the sum of ``key`` over the processes reaches ``target``."""
        for p in self.ports:
            wait_metric(p, "bailwatch_ingest_queue_messages", 0, 60)
        return wait_until(lambda: self.total(key), target, timeout_s, key)

    def cpu(self) -> float:
        """CPU seconds used so far by the processes."""
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(30)
