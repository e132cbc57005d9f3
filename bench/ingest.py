"""Ingest benchmark: ``python -m bench.ingest [--messages N] [--devices N]``.

Starts its own PostgreSQL and Mosquitto (run dir ``.run/bench-ingest``, ports 55461/18861, wiped
first unless ``--keep``), a clean migrated database with 10k assigned devices, then:

1. Throughput, like for like. Two persistent sessions are created (one for the raw drain, one
   for the ingester), then the stream is published once (QoS 1, JSON v1: single fixes plus a few
   offline-buffer arrays) and queued by the broker for both. The raw drain is the same MQTT
   client class the ingester uses (``broker.client.PahoSource``) acknowledging each batch at
   once, no processing; then the real ingester (``python -m ingest``) drains its copy. Each rate
   is fixes from connect to the last ack (ingester: committed and acked).
2. Lag, live: the stream is published at a steady rate below the measured throughput with
   current timestamps while the ingester runs; lag fix->commit p50/p99 from its histogram.
3. Exactly once: every published fix is in ``pings`` once; nothing was dead-lettered.

The last line is one JSON object (fixes_per_s, raw_drain_per_s, ratio, lag_p99_s, lost,
duplicated, ...) for the faster client, with every client's figures under ``by_client``.
"machine" CPU per fix counts every process on the machine (PostgreSQL, Mosquitto, and anything
else running: the load average at start is printed so a busy machine shows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.ingest_tools import (
    cpu_seconds,
    fixes_of,
    machine_cpu,
    metrics,
    quantile,
    retime,
    stream,
    wait_metric,
)
from bench.mqtt_raw import RawPublisher
from broker.aio import AsyncioSource
from broker.client import ConnectOptions, PahoSource
from config.settings import Settings
from ingest.decode import TOPIC_FILTERS
from store.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = ".run/bench-ingest"
ENV = {
    "BW_RUN_DIR": RUN_DIR,
    "BW_DB__PORT": "55461",
    "BW_MQTT__PORT": "18861",
    "BW_DB__NAME": "bw_bench",
    "BW_LOG_LEVEL": "WARNING",
}


def sh(command: str) -> None:
    env = {**os.environ, **ENV}
    subprocess.run(
        ["bash", "deploy/services.sh", command],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def bench_settings() -> Settings:
    env = dict(ENV)
    for line in (ROOT / RUN_DIR / "mqtt-credentials.env").read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    os.environ.update(env)
    return Settings()


def clean_database(settings: Settings, devices: int) -> None:
    admin = settings.db.dsn(database="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.db.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{settings.db.name}"')
    migrate(settings.db.dsn(), settings.pings, prefer="native")
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        unit = conn.execute(
            "INSERT INTO units (code, name, kind) VALUES ('B', 'Bench', 'police') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            """
            INSERT INTO devices (id)
                SELECT 'w' || lpad(g::text, 5, '0') FROM generate_series(0, %(n)s - 1) g;
            INSERT INTO persons (full_name) SELECT 'p' || g FROM generate_series(0, %(n)s - 1) g;
            INSERT INTO cases (case_number, person_id, measure, supervising_unit_id, status)
                SELECT 'C' || id, id, 'bail', %(unit)s, 'active' FROM persons;
            INSERT INTO device_assignments (device_id, case_id, valid_from)
                SELECT 'w' || lpad((c.id - 1)::text, 5, '0'), c.id, now() - interval '30 days'
                FROM cases c;
        """.replace("%(n)s", str(devices)).replace("%(unit)s", str(unit))
        )


def publisher(settings: Settings) -> RawPublisher:
    m = settings.mqtt
    if not m.sim_username or m.sim_password is None:
        raise RuntimeError("simulator credentials missing from the bench run dir")
    return RawPublisher(
        m.host, m.port, username=m.sim_username, password=m.sim_password.get_secret_value()
    )


def options(settings: Settings, client_id: str, group: str) -> ConnectOptions:
    m = settings.mqtt
    return ConnectOptions(
        host=m.host,
        port=m.port,
        client_id=client_id,
        username=m.username,
        password=m.password.get_secret_value() if m.password else None,
        receive_maximum=m.receive_maximum,
        subscriptions=tuple(f"$share/{group}/{t}" for t in TOPIC_FILTERS),
    )


async def create_session(opts: ConnectOptions) -> None:
    async with PahoSource(opts) as src:
        await src.wait_connected(10)
        await asyncio.sleep(0.3)


async def raw_drain(
    source: type[PahoSource] | type[AsyncioSource],
    opts: ConnectOptions,
    n_messages: int,
    batch_max: int,
) -> tuple[float, int]:
    """Seconds to drain and ack ``n_messages`` with no processing; fixes seen."""
    fixes = 0
    got = 0
    async with source(opts) as src:
        started = time.perf_counter()
        while got < n_messages:
            batch = await src.next_batch(batch_max, 0.05)
            got += len(batch)
            for m in batch:
                fixes += fixes_of(m.payload)
            src.ack(batch)
        took = time.perf_counter() - started
    return took, fixes


def start_ingester(settings: Settings, kind: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **settings.to_env(),
        "BW_INGEST__CLIENT_ID": f"bench-ingest-{kind}",
        "BW_MQTT__SHARED_GROUP": f"benchingest{kind}",
        "BW_INGEST__METRICS_PORT": str(port),
        "BW_MQTT__CLIENT": kind,
    }
    log = (ROOT / RUN_DIR / "logs" / "ingest.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "ingest"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


def say(*parts: object) -> None:
    print(*parts, flush=True)


def measure(
    settings: Settings, kind: str, n_messages: int, n_fixes: int, port: int
) -> dict[str, float]:
    """Raw drain, then the ingester's drain, of the copies queued for this client's sessions."""
    raw_opts = options(settings, f"bench-raw-{kind}", f"benchraw{kind}")
    source = AsyncioSource if kind == "asyncio" else PahoSource
    raw_s, raw_fixes = asyncio.run(
        raw_drain(source, raw_opts, n_messages, settings.ingest.batch_max)
    )
    ing = start_ingester(settings, kind, port)
    try:
        wait_metric(port, "bailwatch_ingest_batch_messages_count", 1, 60)
        cpu0, mcpu0, t0 = cpu_seconds(ing.pid), machine_cpu(), time.perf_counter()
        t1 = wait_metric(port, "bailwatch_ingest_acks_total", n_messages, 900)
        cpu1, mcpu1 = cpu_seconds(ing.pid), machine_cpu()
    finally:
        ing.terminate()
        ing.wait(30)
    # The first batch was already committed when timing started: count from there.
    took = t1 - t0
    return {
        "raw_drain_per_s": raw_fixes / raw_s,
        "raw_msgs_per_s": n_messages / raw_s,
        "fixes_per_s": n_fixes / took,
        "messages_per_s": n_messages / took,
        "cpu_us_per_fix": 1e6 * (cpu1 - cpu0) / n_fixes,
        "machine_cpu_us_per_fix": 1e6 * (mcpu1 - mcpu0) / n_fixes,
    }


def live_lag(
    settings: Settings,
    kind: str,
    port: int,
    rate: float,
    seconds: float,
    devices: int,
    pub: RawPublisher,
) -> tuple[float, float, int]:
    """Publish at ``rate`` msg/s with current times while the ingester runs; lag p50, p99."""
    n = int(rate * seconds)
    live, live_fixes = stream(n, devices, live=True, seed=2, arrays=False)
    ing = start_ingester(settings, kind, port)
    try:
        wait_metric(port, "bailwatch_ingest_acks_total", 0, 60)
        services_wait(port)
        before = metrics(port)
        step = max(int(rate / 50), 1)
        started = time.perf_counter()
        for i in range(0, n, step):
            now = int(time.time() * 1000)
            pub.publish([(tp, retime(pl, now)) for tp, pl in live[i : i + step]])
            delay = started + (i + step) / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        wait_metric(
            port,
            "bailwatch_ingest_acks_total",
            before.get("bailwatch_ingest_acks_total", 0) + n,
            120,
        )
        after = metrics(port)
    finally:
        ing.terminate()
        ing.wait(30)
    return quantile(before, after, 0.5), quantile(before, after, 0.99), live_fixes


def services_wait(port: int) -> None:
    """Until the ingester has served /metrics once (it subscribes right after)."""
    wait_metric(port, "bailwatch_ingest_queue_messages", 0, 60)
    time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=150_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="paho,asyncio", help="MQTT clients to measure")
    parser.add_argument(
        "--keep", action="store_true", help="do not wipe the bench services first nor stop them"
    )
    args = parser.parse_args(argv)
    kinds = args.clients.split(",")
    load = Path("/proc/loadavg").read_text().split()[:3]
    say(f"{os.cpu_count()} CPUs, load average before start {' '.join(load)} (shared machine?)")
    if not args.keep:
        sh("wipe")
    sh("start")
    settings = bench_settings()
    clean_database(settings, args.devices)
    messages, n_fixes = stream(args.messages, args.devices, live=False)
    say(
        f"clean database, {args.devices} devices; stream of {len(messages)} messages,"
        f" {n_fixes} fixes (2% offline-buffer arrays), JSON v1, QoS 1"
    )
    for kind in kinds:
        for cid, group in (
            (f"bench-raw-{kind}", f"benchraw{kind}"),
            (f"bench-ingest-{kind}", f"benchingest{kind}"),
        ):
            asyncio.run(create_session(options(settings, cid, group)))
    pub = publisher(settings)
    t = time.perf_counter()
    pub.publish(messages)
    pub.wait_acked(len(messages))
    say(
        f"published in {time.perf_counter() - t:.1f}s;"
        f" queued by the broker for {2 * len(kinds)} sessions"
    )
    port = 19461
    results: dict[str, dict[str, float]] = {}
    for kind in kinds:
        r = results[kind] = measure(settings, kind, len(messages), n_fixes, port)
        say(
            f"[{kind}] raw drain {r['raw_msgs_per_s']:,.0f} msg/s"
            f" = {r['raw_drain_per_s']:,.0f} fixes/s; ingester {r['messages_per_s']:,.0f} msg/s"
            f" = {r['fixes_per_s']:,.0f} fixes/s committed+acked"
            f" (ratio {r['fixes_per_s'] / r['raw_drain_per_s']:.2f}); CPU"
            f" {r['cpu_us_per_fix']:.1f} us/fix ingester, {r['machine_cpu_us_per_fix']:.1f} machine"
        )
    best = max(kinds, key=lambda k: results[k]["fixes_per_s"])
    rate = min(results[best]["messages_per_s"] * 0.5, 10_000)
    p50, p99, live_fixes = live_lag(
        settings, best, port, rate, args.live_seconds, args.devices, pub
    )
    say(
        f"[{best}] live {rate:,.0f} msg/s for {args.live_seconds:.0f}s:"
        f" lag fix->commit p50 {p50:.3f}s p99 {p99:.3f}s"
    )
    pub.close()
    with psycopg.connect(settings.db.dsn()) as conn:
        stored = conn.execute("SELECT count(*) FROM pings").fetchone()[0]  # type: ignore[index]
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]  # type: ignore[index]
    expected = n_fixes + live_fixes
    r = results[best]
    out = {
        "client": best,
        "fixes_per_s": round(r["fixes_per_s"]),
        "messages_per_s": round(r["messages_per_s"]),
        "raw_drain_per_s": round(r["raw_drain_per_s"]),
        "ratio": round(r["fixes_per_s"] / r["raw_drain_per_s"], 3),
        "lag_p50_s": round(p50, 3),
        "lag_p99_s": round(p99, 3),
        "cpu_us_per_fix": round(r["cpu_us_per_fix"], 1),
        "lost": max(expected - stored, 0),
        "duplicated": max(stored - expected, 0),
        "dead_letters": dead,
        "load_avg_at_start": float(load[0]),
        "messages": len(messages),
        "fixes": n_fixes,
        "devices": args.devices,
        "by_client": {k: {n: round(v, 1) for n, v in res.items()} for k, res in results.items()},
    }
    if not args.keep:
        sh("stop")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
