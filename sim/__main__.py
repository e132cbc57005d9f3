"""``python -m sim``: drive simulated watches over MQTT until SIGINT/SIGTERM (or ``--duration``).

    python -m sim                                   # the demo: settings sim.devices watches,
                                                    # one fix each every sim.interval_s seconds
    python -m sim --devices 10000 --rate 5000 --duration 60   # high-rate benchmark mode

The demo connects each watch on its own, with the credentials file's entry when
``{run_dir}/demo/device-credentials.json`` exists. ``--rate`` switches to high-rate mode: shared
connections (``--connections``) with the simulator's own login (BW_MQTT__USERNAME/PASSWORD), a
target total of fixes a second, and a report of the achieved rate on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from config.logs import configure_logging
from config.settings import Settings
from sim.credentials import (
    credential_for,
    credentials_path,
    fallback_credential,
    read_device_credentials,
)
from sim.fleet import Fleet
from sim.paths import DONGYING_PLANE
from sim.publisher import MqttPublisher, PublishError
from sim.runner import RunOptions, RunStats, run
from sim.scenario import ROOT, build_scenario, load_boundaries
from sim.watches import WanderTiming, build_watches

log = logging.getLogger("sim")


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sim", description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=settings.sim.devices, help="number of watches")
    p.add_argument(
        "--interval", type=float, default=settings.sim.interval_s, help="seconds between fixes"
    )
    p.add_argument("--rate", type=float, help="high-rate mode: target total fixes a second")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--connections", type=int, default=4, help="high-rate mode: MQTT connections")
    p.add_argument("--seed", type=int, default=settings.sim.seed, help="random seed")
    p.add_argument("--credentials", type=Path, help="device credentials file (JSON)")
    args = p.parse_args(argv)
    if args.devices < 1 or args.interval <= 0 or (args.rate is not None and args.rate <= 0):
        p.error("--devices, --interval and --rate must be positive")
    return args


def build_fleet(settings: Settings, *, devices: int, seed: int, start_ms: int) -> Fleet:
    """The scenario's watches as a fleet starting at ``start_ms`` (epoch ms)."""
    path = Path(settings.sim.boundaries_path)
    boundaries = load_boundaries(path if path.is_absolute() else ROOT / path)
    scenario = build_scenario(boundaries, devices=devices, seed=seed)
    timing = WanderTiming(
        settings.sim.wander_after_s, settings.sim.wander_out_s, settings.sim.wander_every_s
    )
    watches = build_watches(scenario, start_ms=start_ms, wander=timing, seed=seed)
    # Sequence numbers continue across restarts: start from the clock (tenths of a second since
    # 2026), valid while a watch sends at most ten fixes a second on average.
    seq_start = max(0, (start_ms - 1_767_225_600_000) // 100)
    return Fleet(
        watches,
        plane=DONGYING_PLANE,
        start_ms=start_ms,
        seed=seed,
        seq_start=seq_start,
        offline_mean_gap_s=settings.sim.offline_mean_gap_s,
    )


def build_publisher(settings: Settings, fleet: Fleet, args: argparse.Namespace) -> MqttPublisher:
    """Per-watch connections for the demo; shared ones with the simulator's login for ``--rate``."""
    fallback = fallback_credential(settings.mqtt)
    if args.rate is not None:
        return MqttPublisher.shared(settings.mqtt, fallback, count=max(1, args.connections))
    path = args.credentials or credentials_path(settings)
    if not path.is_absolute():
        path = ROOT / path
    per_device = read_device_credentials(path)
    log.info(
        "device credentials",
        extra={
            "file": str(path),
            "found": per_device is not None,
            "fallback_user": fallback.username,
        },
    )
    logins = {d: credential_for(d, per_device, fallback) for d in fleet.ids}
    return MqttPublisher.per_device(settings.mqtt, fleet.ids, logins)


def report(stats: RunStats, target: float) -> dict[str, Any]:
    """The run's figures, as printed on stdout at the end."""
    return {
        "fixes": stats.fixes,
        "messages": stats.messages,
        "array_messages": stats.arrays,
        "status_messages": stats.status,
        "acked": stats.acked,
        "elapsed_s": round(stats.elapsed_s, 3),
        "target_rate_per_s": round(target, 1),
        "achieved_rate_per_s": round(stats.rate_per_s, 1),
        "backpressure_stalls": stats.stalls,
    }


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    configure_logging(settings.log_level)
    args = parse_args(argv, settings)
    start_ms = int(time.time() * 1000)
    fleet = build_fleet(settings, devices=args.devices, seed=args.seed, start_ms=start_ms)
    rate = args.rate if args.rate is not None else args.devices / args.interval
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    publisher = build_publisher(settings, fleet, args)
    try:
        publisher.start()
    except PublishError as exc:
        log.error(str(exc))
        return 1
    log.info(
        "simulator started",
        extra={
            "devices": len(fleet),
            "rate_per_s": rate,
            "mode": "high-rate" if args.rate else "demo",
        },
    )
    options = RunOptions(
        rate_per_s=rate,
        duration_s=args.duration,
        status_every_s=settings.sim.status_every_s,
        tick_s=0.1 if args.rate is None else 0.01,
    )
    stats = run(fleet, publisher, options, stop)
    figures = report(stats, rate)
    log.info("simulator stopped", extra=figures)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
