"""The simulator's main loop: pace fixes with a token bucket, send status, log a line a minute.

Watches report in round-robin order at ``rate_per_s`` fixes a second in total, so each of N watches
sends a fix every ``N / rate_per_s`` seconds (the demo: rate = N / interval_s; the benchmarks: a
target rate). The bucket holds at most a quarter of a second of tokens (at least one), so a stall
is not followed by a burst. A watch reports at most once a tick: its fixes have distinct,
increasing times (a real receiver does not report twice in the same millisecond), so a target
above N fixes a tick is not reached (the achieved rate says so). A full publish queue (broker
slower than the target) stops the tick and is counted as back-pressure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.fleet import Fleet
from sim.payloads import Status, encode_fix, encode_fixes, encode_status, topic
from sim.publisher import Publisher

log = logging.getLogger(__name__)

FIRMWARE = "1.4.2"


@dataclass(frozen=True)
class RunOptions:
    """``rate_per_s`` total fixes a second; ``duration_s`` None runs until stopped."""

    rate_per_s: float
    duration_s: float | None = None
    status_every_s: float = 60.0
    log_every_s: float = 60.0
    tick_s: float = 0.02
    #: Seconds ``close`` waits for the broker's last acknowledgements.
    close_timeout_s: float = 5.0


@dataclass
class RunStats:
    """What a run sent: fixes (generated and published), messages, acks, back-pressure stalls."""

    fixes: int = 0
    messages: int = 0
    status: int = 0
    arrays: int = 0
    stalls: int = 0
    acked: int = 0
    elapsed_s: float = 0.0
    per_device: dict[str, int] = field(default_factory=dict)

    @property
    def rate_per_s(self) -> float:
        """Achieved fixes a second."""
        return self.fixes / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _minute_line(fleet: Fleet, counts: np.ndarray, window_s: float) -> dict[str, object]:
    total = int(counts.sum())
    line: dict[str, object] = {"fixes": total, "rate_per_s": round(total / max(window_s, 1e-9), 1)}
    if len(fleet) <= 20:
        line["per_device"] = {d: int(c) for d, c in zip(fleet.ids, counts, strict=True)}
    else:
        line["per_device_min"], line["per_device_max"] = int(counts.min()), int(counts.max())
    return line


def run(
    fleet: Fleet,
    publisher: Publisher,
    options: RunOptions,
    stop: threading.Event,
    *,
    clock: Callable[[], float] = time.time,
) -> RunStats:
    """Drive ``fleet`` until ``stop`` is set or ``duration_s`` passed; returns what was sent."""
    n = len(fleet)
    stats = RunStats()
    interval_s = n / options.rate_per_s
    capacity = max(1.0, options.rate_per_s * 0.25)
    tokens = 1.0
    cursor = 0
    rng = np.random.default_rng(int(clock()))
    start = last = last_log = clock()
    # First status of every watch within a second (small fleets) or spread at 500 a second.
    spread_s = min(options.status_every_s, max(1.0, n / 500))
    status_due = start + rng.uniform(0, spread_s, size=n)
    sent = np.zeros(n, dtype=np.int64)
    sent_at_log = sent.copy()
    while not stop.is_set():
        now = clock()
        if options.duration_s is not None and now - start >= options.duration_s:
            break
        now_ms = int(now * 1000)
        fleet.advance(now_ms)
        tokens = min(capacity, tokens + (now - last) * options.rate_per_s)
        last = now
        due = min(int(tokens), n)
        if due:
            idx = (cursor + np.arange(due)) % n
            cursor = (cursor + due) % n
            tokens -= due
            stalled = _send_fixes(fleet, publisher, idx, now_ms, interval_s, stats, sent)
            if stalled:
                stats.stalls += 1
                tokens = 0.0
        _send_status(fleet, publisher, status_due, now, options.status_every_s, stats)
        if now - last_log >= options.log_every_s:
            line = _minute_line(fleet, sent - sent_at_log, now - last_log)
            log.info("sim fixes sent", extra=line)
            sent_at_log, last_log = sent.copy(), now
        stop.wait(options.tick_s)
    stats.elapsed_s = clock() - start
    publisher.close(options.close_timeout_s)
    stats.acked = publisher.acked
    stats.per_device = {d: int(c) for d, c in zip(fleet.ids, sent, strict=True)}
    return stats


def _send_fixes(
    fleet: Fleet,
    publisher: Publisher,
    idx: np.ndarray,
    now_ms: int,
    interval_s: float,
    stats: RunStats,
    sent: np.ndarray,
) -> bool:
    """Report and publish the fixes of watches ``idx``; True when the publish queue was full."""
    for out in fleet.report(idx, now_ms, interval_s=interval_s):
        device_id = fleet.ids[out.index]
        payload = encode_fixes(out.fixes) if out.as_array else encode_fix(out.fixes[0])
        if not publisher.publish(device_id, topic(device_id, "loc"), payload):
            return True
        stats.messages += 1
        stats.arrays += int(out.as_array)
        stats.fixes += len(out.fixes)
        sent[out.index] += len(out.fixes)
    return False


def _send_status(
    fleet: Fleet,
    publisher: Publisher,
    due: np.ndarray,
    now: float,
    every_s: float,
    stats: RunStats,
) -> None:
    """Status of the connected watches whose turn it is (each every ``every_s`` seconds)."""
    idx = np.flatnonzero((due <= now) & fleet.online(int(now * 1000)))
    if idx.size == 0:
        return
    due[idx] = now + every_s
    signal = fleet.rng.integers(-105, -65, size=idx.size)
    for k, i in enumerate(idx):
        device_id = fleet.ids[i]
        status = Status(
            ts=int(now * 1000),
            batt=int(fleet.battery[i]),
            charging=bool(fleet.charging[i]),
            strap="closed",
            signal=int(signal[k]),
            fw=FIRMWARE,
        )
        if publisher.publish(device_id, topic(device_id, "status"), encode_status(status)):
            stats.status += 1
