"""Alerts benchmark: ``python -m bench.alerts [--devices N] [--rate R] [--duration S]``.

Starts its own PostgreSQL and Mosquitto (run dir ``.run/bench-alerts``, ports 55497/18897, wiped
first), a migrated database with the simulator's scenario (``sim.seed``: N watches with their
cases and rules) plus the bench's own cases, then the real processes: ingesters (two of one shared
subscription, as ``docker-compose.yml`` runs them; ``--ingesters``), alerts service,
API, and ``python -m sim --rate R`` as the background stream. Measured through the live stream
(``GET /alerts/stream`` as the bench unit's supervisor):

1. Violations: ``--violators`` watches with a "stay inside" 60 m circle (grace zero: one fix opens,
   one clears) step outside at known times, twice each (inside in between). Latency is from
   just before the MQTT publish of the violating fix to the ``alert.opened`` event's arrival.
2. No signal: ``--silent`` watches with a 10 s limit send one fix, then nothing; the delay is
   from (last contact + limit) to the alert's arrival.

The stream starts on a system in its steady state, as in service: the bench first waits until the
ingester has stored a fix of each violator (the ingester is consuming: its rules are loaded), then
starts the background and injects only after ``--warmup`` seconds and once the ingester keeps up
(the newest contact it stored is under ``CAUGHT_UP_S`` old). The time this took is printed.

Every expected alert must arrive once (missed, duplicated): the bench waits for them (up to 30 s
past the last injection) and pairs each arrival with its violating fix by the episode's start (the
fix time in the episode key). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

import numpy as np
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from api.auth import tokens
from bench.alerts_world import (
    AWAY,
    HOME,
    NO_SIGNAL_LIMIT_S,
    ROOT,
    bench_world,
    prepare_database,
    wait_steady,
    wait_stored,
)
from config.settings import Settings
from tests.integration.alerts.sse import SseClient

RUN_DIR = ".run/bench-alerts"
ENV = {
    "BW_RUN_DIR": RUN_DIR,
    "BW_DB__PORT": "55497",
    "BW_MQTT__PORT": "18897",
    "BW_DB__NAME": "bw_bench",
    "BW_LOG_LEVEL": "WARNING",
    "BW_API__PORT": "18797",
    "BW_INGEST__METRICS_PORT": "0",
    "BW_ALERTS__METRICS_PORT": "0",
    "BW_ALERTS__WATCHDOG_INTERVAL_S": "0.5",
}


def say(*parts: object) -> None:
    print("[bench.alerts]", *parts, file=sys.stderr, flush=True)


def sh(command: str) -> None:
    subprocess.run(
        ["bash", "deploy/services.sh", command], cwd=ROOT, env={**os.environ, **ENV}, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def bench_settings() -> Settings:
    env = dict(ENV)
    for line in (ROOT / RUN_DIR / "mqtt-credentials.env").read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    os.environ.update(env)
    return Settings()


@contextmanager
def process(
    name: str, settings: Settings, *args: str, instance: str = "", env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m name args`` logging to ``logs/{name}{instance}.log``, stopped on exit."""
    log_dir = ROOT / RUN_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings.to_env(), **(env or {})}
    with (log_dir / f"{name}{instance}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", name, *args], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def publisher(settings: Settings) -> mqtt.Client:
    m = settings.mqtt
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:6]}",
                         protocol=mqtt.MQTTv5)  # fmt: skip
    client.username_pw_set(
        m.sim_username, m.sim_password.get_secret_value() if m.sim_password else None
    )
    client.connect(m.host, m.port)
    client.loop_start()
    return client


def send(client: mqtt.Client, device: str, seq: int, where: tuple[float, float]) -> float:
    """Publish one fix (QoS 1) now; returns the time just before the publish."""
    t = time.time()
    body = {"ts": int(t * 1000), "lat": where[1], "lon": where[0], "acc": 8.0, "src": "gnss",
            "seq": seq}  # fmt: skip
    client.publish(f"bw/v1/dev/{device}/loc", json.dumps(body), qos=1)
    return t


def _start_ms(episode_key: str) -> int:
    """The episode's start (fix time, epoch ms): the last field of its key."""
    return int(episode_key.rsplit(":", 1)[1])


def wait_ready(url: str, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=1000, help="simulated background watches")
    p.add_argument("--rate", type=float, default=5000.0, help="background fixes a second")
    p.add_argument("--violators", type=int, default=20)
    p.add_argument("--silent", type=int, default=5)
    p.add_argument("--duration", type=float, default=90.0, help="seconds of background stream")
    p.add_argument(
        "--ingesters", type=int, default=2, help="ingester processes (docker-compose.yml runs two)"
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of background before the first injection (at least)",
    )
    args = p.parse_args(argv)
    say("services (wiped)")
    sh("wipe")
    sh("start")
    settings = bench_settings()
    say(f"database: scenario with {args.devices} watches + bench cases")
    prepare_database(settings, args.devices)
    supervisor, movers, quiet = bench_world(settings, args.violators, args.silent)
    token, _ = tokens.issue(settings.api, user_id=supervisor, token_type="access",
                            now=datetime.now(UTC))  # fmt: skip
    api = f"http://127.0.0.1:{settings.api.port}"
    m = settings.mqtt
    sim_login = m.model_copy(update={"username": m.sim_username, "password": m.sim_password})
    sim_env = settings.model_copy(update={"mqtt": sim_login})
    with ExitStack() as stack:
        for i in range(1, args.ingesters + 1):
            client_id = {"BW_INGEST__CLIENT_ID": f"bw-ingest-{i}"}
            stack.enter_context(process("ingest", settings, instance=f"-{i}", env=client_id))
        stack.enter_context(process("alerts", settings))
        stack.enter_context(process("api", settings))
        wait_ready(f"{api}/healthz")
        time.sleep(2.0)  # ingester subscribed, alerts service leading
        sse = SseClient(f"{api}/alerts/stream", {"Authorization": f"Bearer {token}"}).start()
        stack.callback(sse.close)
        client = publisher(settings)
        stack.callback(client.loop_stop)
        seq = dict.fromkeys(movers + quiet, 0)

        def fix(device: str, where: tuple[float, float]) -> float:
            seq[device] += 1
            return send(client, device, seq[device], where)

        for d in movers:
            fix(d, HOME)
        ready_s = wait_stored(settings, movers)
        say(f"ingester consuming ({ready_s:.1f} s); "
            f"background: sim --devices {args.devices} --rate {args.rate:g}")  # fmt: skip
        stack.enter_context(process("sim", sim_env, "--devices", str(args.devices), "--rate",
                                    str(args.rate), "--duration", str(args.duration)))  # fmt: skip
        warmup_s = wait_steady(settings, args.warmup)
        say(f"background steady after {warmup_s:.1f} s; injecting")
        first_contact = min(fix(d, HOME) for d in movers + quiet)
        time.sleep(3.0)
        #: Publish time of each violating fix, by its fix time in ms (= the episode key's start).
        published: dict[str, dict[int, float]] = {d: {} for d in movers}
        for episode in range(2):
            for d in movers:
                t = fix(d, AWAY)
                published[d][int(t * 1000)] = t
                time.sleep(0.6)
            time.sleep(1.0)
            for d in movers:
                fix(d, HOME)
            time.sleep(1.5 if episode == 0 else 0.0)
        expected_keys = {(d, ms) for d in movers for ms in published[d]}
        deadline = time.time() + NO_SIGNAL_LIMIT_S + 30
        while time.time() < deadline:
            arrived = {(e[2]["alert"]["device_id"], _start_ms(e[2]["alert"]["episode_key"]))
                       for e in sse.events if e[1] == "alert.opened"}  # fmt: skip
            silent = {d for d, _ in arrived if d in quiet}
            if expected_keys <= arrived and set(quiet) <= silent:
                break
            time.sleep(0.2)
        time.sleep(1.0)
    with psycopg.connect(settings.db.dsn()) as conn:
        # Where the time of each violation went: broker (publish -> the ingester received it),
        # ingester (-> the batch's transaction began: queueing, batching, the previous batch),
        # commit and delivery (-> the live stream). ``opened_at`` is the transaction's start.
        stages = conn.execute(
            "SELECT p.device_id, (extract(epoch FROM p.fix_time) * 1000)::bigint,"
            " extract(epoch FROM p.received_at), extract(epoch FROM a.opened_at)"
            " FROM alerts a JOIN pings p ON p.device_id = a.device_id AND p.fix_time = a.started_at"
            " WHERE a.kind = 'left_permitted_area' AND a.device_id = ANY(%s)",
            [movers],
        ).fetchall()
        last_seen: dict[str, datetime] = dict(conn.execute(
            "SELECT device_id, last_seen_at FROM device_status WHERE device_id = ANY(%s)", [quiet]
        ).fetchall())  # fmt: skip
        # A no-signal episode of the silence before the first fix (assignment start to first
        # contact) is a real, separate episode: not one of the bench's, not a duplicate.
        db_alerts = Counter(r[0] for r in conn.execute(
            "SELECT device_id FROM alerts WHERE device_id = ANY(%s) AND (kind = "
            "'left_permitted_area' OR kind = 'no_signal' AND started_at >= %s)",
            [movers + quiet, datetime.fromtimestamp(first_contact - 1, UTC)],
        ).fetchall())  # fmt: skip
    opened_events = [e for e in sse.events if e[1] == "alert.opened"]
    by_key = Counter(e[2]["alert"]["episode_key"] for e in opened_events)
    duplicated = sum(n - 1 for n in by_key.values() if n > 1)
    #: Arrival time of each violation's alert, by (device, episode start ms).
    arrival_of = {(e[2]["alert"]["device_id"], _start_ms(e[2]["alert"]["episode_key"])): e[3]
                  for e in opened_events
                  if e[2]["alert"]["kind"] == "left_permitted_area"}  # fmt: skip
    latencies: list[float] = []
    missed = 0
    for d in movers:
        missed += sum(1 for ms in published[d] if (d, ms) not in arrival_of)
        latencies += [arrival_of[d, ms] - t for ms, t in published[d].items()
                      if (d, ms) in arrival_of]  # fmt: skip
    split: dict[str, list[float]] = {"broker": [], "ingester": [], "commit+stream": []}
    for device, ms, received, opened in stages:
        sent = published.get(device, {}).get(int(ms))
        got = arrival_of.get((device, int(ms)))
        if sent is None or got is None:
            continue
        split["broker"].append(float(received) - sent)
        split["ingester"].append(float(opened) - float(received))
        split["commit+stream"].append(got - float(opened))
    delays: list[float] = []
    for d in quiet:
        silences = [
            e[3]
            for e in opened_events
            if e[2]["alert"]["device_id"] == d
            and e[2]["alert"]["kind"] == "no_signal"
            and _start_ms(e[2]["alert"]["episode_key"]) >= first_contact * 1000 - 1000
        ]
        if not silences or d not in last_seen:
            missed += 1
            continue
        limit_at = last_seen[d].timestamp() + NO_SIGNAL_LIMIT_S
        delays.append(min(silences) - limit_at)
    expected = 2 * len(movers) + len(quiet)
    duplicated += max(0, sum(db_alerts.values()) - expected)
    print(
        f"violations: {len(latencies)} alerts, publish -> live stream latency "
        f"p50 {pct(latencies, 50)} s, p95 {pct(latencies, 95)} s, p99 {pct(latencies, 99)} s"
    )
    print(
        "where it went, p50/p99 s: "
        + ", ".join(f"{k} {pct(v, 50)}/{pct(v, 99)}" for k, v in split.items())
    )
    print(
        f"no signal: {len(delays)} alerts, delay past the limit "
        f"p50 {pct(delays, 50)} s, p99 {pct(delays, 99)} s (limit {NO_SIGNAL_LIMIT_S} s)"
    )
    print(
        f"stream events received: {len(sse.events)}; background {args.rate:g} fixes/s "
        f"from {args.devices} simulated watches, ingesters: {args.ingesters}; injected after "
        f"{warmup_s:.1f} s of it"
    )
    sh("stop")
    print(json.dumps({
        "alert_p50_s": pct(latencies, 50), "alert_p95_s": pct(latencies, 95),
        "alert_p99_s": pct(latencies, 99), "nosignal_delay_p50_s": pct(delays, 50),
        "nosignal_delay_p99_s": pct(delays, 99), "missed": missed, "duplicated": duplicated,
        "violation_alerts": len(latencies), "nosignal_alerts": len(delays),
        "background_rate_per_s": args.rate, "warmup_s": round(warmup_s, 1),
        "ingesters": args.ingesters,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
