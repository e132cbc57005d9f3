"""Helpers of bench/ingest.py: the synthetic watch stream, CPU counters, /metrics scraping."""

from __future__ import annotations

import json
import os
import random
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

#: Fix times of the pre-loaded stream start an hour ago.
BASE_MS = int(time.time() * 1000) - 3_600_000


def stream(
    n_messages: int, devices: int, *, live: bool, seed: int = 1, arrays: bool = True
) -> tuple[list[tuple[bytes, bytes]], int]:
    """(topic, payload) pairs and the number of fixes they carry. 2% are buffered arrays."""
    rng = random.Random(seed)
    seq = [0] * devices
    pos = [(31.0 + rng.random() * 0.5, 121.2 + rng.random() * 0.5) for _ in range(devices)]
    out: list[tuple[bytes, bytes]] = []
    fixes = 0
    t = BASE_MS if not live else 0
    for i in range(n_messages):
        d = i % devices
        lat, lon = pos[d]
        n = rng.randint(5, 20) if arrays and rng.random() < 0.02 else 1
        items = []
        for _ in range(n):
            seq[d] += 1
            lat += rng.uniform(-1e-4, 1e-4)
            lon += rng.uniform(-1e-4, 1e-4)
            items.append(
                {
                    "ts": t + seq[d] * 1000,
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "acc": round(rng.uniform(3, 30), 1),
                    "src": "gnss",
                    "seq": seq[d],
                    "spd": round(rng.uniform(0, 2), 2),
                    "hdg": rng.randint(0, 359),
                    "batt": rng.randint(20, 100),
                    "sat": rng.randint(4, 16),
                }
            )
        pos[d] = (lat, lon)
        fixes += n
        body = items[0] if n == 1 else items
        out.append(
            (f"bw/v1/dev/w{d:05d}/loc".encode(), json.dumps(body, separators=(",", ":")).encode())
        )
    return out, fixes


def fixes_of(payload: bytes) -> int:
    return payload.count(b'"ts"')


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))
    return busy / os.sysconf("SC_CLK_TCK")


def metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def quantile(before: dict[str, float], after: dict[str, float], q: float) -> float:
    """histogram_quantile over the lag histogram's increase between two scrapes."""
    prefix = 'bailwatch_ingest_lag_seconds_bucket{le="'
    buckets = sorted(
        (float(k[len(prefix) : -2]), after[k] - before.get(k, 0.0))
        for k in after
        if k.startswith(prefix)
    )
    total = buckets[-1][1]
    if total <= 0:
        return float("nan")
    rank, prev_le, prev_n = q * total, 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_n) / max(n - prev_n, 1e-9)
        prev_le, prev_n = le, n
    return prev_le


def wait_until(read: Callable[[], float], target: float, timeout_s: float, what: str) -> float:
    """perf_counter() once ``read()`` reaches ``target``; TimeoutError after ``timeout_s``.

    ``read`` scrapes /metrics, which costs the ingester CPU: polling every 0.1 s keeps that small
    and the end time within 0.1 s (under 1% of a run)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if value >= target:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}={value} < {target}")
        time.sleep(0.1)


def wait_metric(port: int, key: str, target: float, timeout_s: float) -> float:
    """:func:`wait_until` the ingester on ``port`` reports ``key`` >= ``target``."""

    def read() -> float:
        try:
            return metrics(port).get(key, 0.0)
        except OSError:  # not serving yet
            return -1.0

    return wait_until(read, target, timeout_s, key)


def retime(payload: bytes, now_ms: int) -> bytes:
    """Shift a live message's fix times (relative ms) to now."""
    doc = json.loads(payload)
    items = doc if isinstance(doc, list) else [doc]
    newest = max(x["ts"] for x in items)
    for x in items:
        x["ts"] = now_ms - (newest - x["ts"])
    return json.dumps(doc, separators=(",", ":")).encode()
