"""Ingest benchmark: ``python -m bench.ingest [--messages N] [--devices N] [--ingesters N]``.

Starts its own PostgreSQL and Mosquitto (run dir ``.run/bench-ingest``, ports 55461/18861, wiped
first unless ``--keep``), a clean migrated database with 10k assigned devices, then:

1. Throughput, like for like. For each MQTT client class (``broker.client.PahoSource`` and
   ``broker.aio.AsyncioSource``) persistent sessions are created first: one for the raw drain,
   one for a single ingester, and ``--ingesters`` (default 2, as ``docker-compose.yml`` runs)
   sharing one subscription group. The stream is published once (QoS 1, JSON v1: single fixes
   plus a few offline-buffer arrays) and queued by the broker for every session. The raw drain is
   the client class acknowledging each batch at once with no processing; then one real ingester
   (``python -m ingest``) drains its copy, then the group of ingesters drains theirs. Each rate
   is fixes from connect (first batch) to the last ack (ingesters: committed and acked). Before
   each ingester phase the stored data are cleared, and after it every published fix must be in
   ``pings`` exactly once with nothing dead-lettered (``lost`` and ``duplicated`` add up over
   the phases).
2. Lag, live: the stream is published at a steady rate below the measured throughput with
   current timestamps while the group of ingesters runs; lag fix->commit p50/p99 from their
   histograms.

The last line is one JSON object (fixes_per_s, raw_drain_per_s, ratio, lag_p99_s, lost,
duplicated, ...) for the deployment (the group of ingesters) with the faster client, with one
ingester's figures as ``single_ingester_*`` and every client's under ``by_client``. ``ratio``
divides by the raw drain of one client connection. "machine" CPU per fix counts every process
on the machine (PostgreSQL, Mosquitto, and anything else running: the load average at start is
printed so a busy machine shows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import psycopg

from bench.ingest_group import Ingesters
from bench.ingest_tools import (
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


#: First /metrics port of the ingester processes (one port each), and their log.
PORT = 19461
LOG = ROOT / RUN_DIR / "logs" / "ingest.log"


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


def ingest_sessions(kind: str, ingesters: int) -> list[tuple[str, str]]:
    """(client id, shared group) of every ingester session: one alone, then the group."""
    alone = f"benchone{kind}"
    group = f"benchgroup{kind}"
    return [(f"{alone}-0", alone)] + [(f"{group}-{i}", group) for i in range(ingesters)]


def say(*parts: object) -> None:
    print(*parts, flush=True)


def clear_data(settings: Settings) -> None:
    """Empty what ingestion writes, so each phase starts from the same database."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "TRUNCATE pings, device_status, device_status_history, device_events, dead_letters,"
            " geofence_tracks"
        )
        conn.execute("VACUUM ANALYZE device_status")


def exactly_once(settings: Settings, expected: int) -> tuple[int, int, int]:
    """(lost, duplicated, dead letters) of the fixes stored since :func:`clear_data`."""
    with psycopg.connect(settings.db.dsn()) as conn:
        stored = conn.execute("SELECT count(*) FROM pings").fetchone()[0]  # type: ignore[index]
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]  # type: ignore[index]
    return max(expected - stored, 0), max(stored - expected, 0), dead


def drain_with_ingesters(
    settings: Settings, kind: str, group: str, n: int, n_messages: int, n_fixes: int
) -> dict[str, float]:
    """The ingesters of ``group`` drain their queued copies; rates and exactly-once."""
    clear_data(settings)
    ing = Ingesters(settings, kind, group, n, PORT, LOG)
    try:
        for p in ing.ports:
            wait_metric(p, "bailwatch_ingest_batch_messages_count", 1, 60)
        # The first batch of each was already committed when timing started: count from there.
        cpu0, mcpu0, t0 = ing.cpu(), machine_cpu(), time.perf_counter()
        t1 = ing.wait_total("bailwatch_ingest_acks_total", n_messages, 900)
        cpu1, mcpu1 = ing.cpu(), machine_cpu()
    finally:
        ing.stop()
    lost, duplicated, dead = exactly_once(settings, n_fixes)
    took = t1 - t0
    return {
        "fixes_per_s": n_fixes / took,
        "messages_per_s": n_messages / took,
        "cpu_us_per_fix": 1e6 * (cpu1 - cpu0) / n_fixes,
        "machine_cpu_us_per_fix": 1e6 * (mcpu1 - mcpu0) / n_fixes,
        "lost": lost,
        "duplicated": duplicated,
        "dead_letters": dead,
    }


def measure(
    settings: Settings, kind: str, ingesters: int, n_messages: int, n_fixes: int
) -> dict[str, dict[str, float]]:
    """Raw drain, one ingester, then the group, each on its own queued copy of the stream."""
    raw_opts = options(settings, f"bench-raw-{kind}", f"benchraw{kind}")
    source = AsyncioSource if kind == "asyncio" else PahoSource
    raw_s, raw_fixes = asyncio.run(
        raw_drain(source, raw_opts, n_messages, settings.ingest.batch_max)
    )
    raw = {"raw_drain_per_s": raw_fixes / raw_s, "raw_msgs_per_s": n_messages / raw_s}
    (_, alone), (_, group) = ingest_sessions(kind, ingesters)[:2]
    one = drain_with_ingesters(settings, kind, alone, 1, n_messages, n_fixes)
    many = drain_with_ingesters(settings, kind, group, ingesters, n_messages, n_fixes)
    return {"raw": raw, "one": one, "group": many}


def live_lag(
    settings: Settings,
    kind: str,
    ingesters: int,
    rate: float,
    seconds: float,
    devices: int,
    pub: RawPublisher,
) -> tuple[float, float, tuple[int, int, int]]:
    """Publish at ``rate`` msg/s with current times while the group of ingesters runs; lag p50,
    p99 (s) and (lost, duplicated, dead letters)."""
    n = int(rate * seconds)
    live, live_fixes = stream(n, devices, live=True, seed=2, arrays=False)
    clear_data(settings)
    group = ingest_sessions(kind, ingesters)[1][1]
    ing = Ingesters(settings, kind, group, ingesters, PORT, LOG)
    try:
        ing.wait_total("bailwatch_ingest_acks_total", 0, 60)
        time.sleep(0.5)
        before = [metrics(p) for p in ing.ports]
        step = max(int(rate / 50), 1)
        started = time.perf_counter()
        for i in range(0, n, step):
            now = int(time.time() * 1000)
            pub.publish([(tp, retime(pl, now)) for tp, pl in live[i : i + step]])
            delay = started + (i + step) / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        ing.wait_total("bailwatch_ingest_acks_total", n, 120)
        after = [metrics(p) for p in ing.ports]
    finally:
        ing.stop()
    first, last = merged(before), merged(after)
    return (
        quantile(first, last, 0.5),
        quantile(first, last, 0.99),
        exactly_once(settings, live_fixes),
    )


def merged(scrapes: list[dict[str, float]]) -> dict[str, float]:
    """Counters of several processes' scrapes added up (histogram buckets included)."""
    out: dict[str, float] = {}
    for scrape in scrapes:
        for key, value in scrape.items():
            out[key] = out.get(key, 0.0) + value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=150_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--ingesters", type=int, default=2, help="processes in the group")
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
    sessions = 0
    for kind in kinds:
        every = [(f"bench-raw-{kind}", f"benchraw{kind}"), *ingest_sessions(kind, args.ingesters)]
        for cid, shared in every:
            asyncio.run(create_session(options(settings, cid, shared)))
        sessions += len(every)
    pub = publisher(settings)
    t = time.perf_counter()
    pub.publish(messages)
    pub.wait_acked(len(messages))
    took = time.perf_counter() - t
    say(f"published in {took:.1f}s; queued by the broker for {sessions} sessions")
    results: dict[str, dict[str, dict[str, float]]] = {}
    lost = duplicated = dead = 0
    for kind in kinds:
        r = results[kind] = measure(settings, kind, args.ingesters, len(messages), n_fixes)
        raw = r["raw"]
        say(
            f"[{kind}] raw drain {raw['raw_msgs_per_s']:,.0f} msg/s"
            f" = {raw['raw_drain_per_s']:,.0f} fixes/s"
        )
        for label, phase in (("1 ingester", r["one"]), (f"{args.ingesters} ingesters", r["group"])):
            lost += int(phase["lost"])
            duplicated += int(phase["duplicated"])
            dead += int(phase["dead_letters"])
            say(
                f"[{kind}] {label}: {phase['messages_per_s']:,.0f} msg/s"
                f" = {phase['fixes_per_s']:,.0f} fixes/s committed+acked"
                f" (ratio {phase['fixes_per_s'] / raw['raw_drain_per_s']:.2f}); CPU"
                f" {phase['cpu_us_per_fix']:.1f} us/fix ingester(s),"
                f" {phase['machine_cpu_us_per_fix']:.1f} machine;"
                f" lost {phase['lost']:.0f}, duplicated {phase['duplicated']:.0f}"
            )
    best = max(kinds, key=lambda k: results[k]["group"]["fixes_per_s"])
    rate = min(results[best]["group"]["messages_per_s"] * 0.5, 10_000)
    p50, p99, (live_lost, live_dup, live_dead) = live_lag(
        settings, best, args.ingesters, rate, args.live_seconds, args.devices, pub
    )
    lost, duplicated, dead = lost + live_lost, duplicated + live_dup, dead + live_dead
    say(
        f"[{best}] live {rate:,.0f} msg/s for {args.live_seconds:.0f}s, {args.ingesters}"
        f" ingesters: lag fix->commit p50 {p50:.3f}s p99 {p99:.3f}s"
    )
    pub.close()
    r = results[best]
    group, one, raw = r["group"], r["one"], r["raw"]
    out = {
        "client": best,
        "ingesters": args.ingesters,
        "fixes_per_s": round(group["fixes_per_s"]),
        "messages_per_s": round(group["messages_per_s"]),
        "raw_drain_per_s": round(raw["raw_drain_per_s"]),
        "ratio": round(group["fixes_per_s"] / raw["raw_drain_per_s"], 3),
        "single_ingester_fixes_per_s": round(one["fixes_per_s"]),
        "single_ingester_ratio": round(one["fixes_per_s"] / raw["raw_drain_per_s"], 3),
        "lag_p50_s": round(p50, 3),
        "lag_p99_s": round(p99, 3),
        "cpu_us_per_fix": round(group["cpu_us_per_fix"], 1),
        "machine_cpu_us_per_fix": round(group["machine_cpu_us_per_fix"], 1),
        "lost": lost,
        "duplicated": duplicated,
        "dead_letters": dead,
        "load_avg_at_start": float(load[0]),
        "messages": len(messages),
        "fixes": n_fixes,
        "devices": args.devices,
        "by_client": {
            k: {
                f"{phase}_{name}": round(v, 1)
                for phase, figures in res.items()
                for name, v in figures.items()
            }
            for k, res in results.items()
        },
    }
    if not args.keep:
        sh("stop")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
