"""The same verdict whatever the batching, through the real evaluation (engine, state cache and
alert records in PostgreSQL): a watch's uploads (current fixes and held-back offline buffers)
evaluated in three batchings give the same alerts, spans, ``late`` flags and final states."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest

from alerts.evaluate import EvaluationInput
from config.settings import Settings
from ingest.models import Ping
from tests.integration.alerts.test_evaluate import run_batches
from tests.integration.alerts.world import AWAY, HOME, T0, World, add_circle_rule, build_world, rows

pytestmark = pytest.mark.integration


def _uploads(rnd: random.Random, device: str) -> list[list[Ping]]:
    """A 24-fix track (10 s apart) cut into uploads of 1-5 fixes, a few held back and sent
    after later ones; each upload received at its own time."""
    track = [rnd.choice([HOME, HOME, AWAY]) for _ in range(24)]
    pings = [
        Ping(device, T0 + timedelta(seconds=10 * i), i, T0, w[0], w[1], 10.0, "gnss")
        for i, w in enumerate(track)
    ]
    uploads: list[list[Ping]] = []
    i = 0
    while i < len(pings):
        n = rnd.randint(1, 5)
        uploads.append(pings[i : i + n])
        i += n
    for _ in range(2):  # two buffers held back
        k = rnd.randrange(len(uploads))
        uploads.append(uploads.pop(k))
    return [
        [p._replace(received_at=T0 + timedelta(seconds=300 + k)) for p in upload]
        for k, upload in enumerate(uploads)
    ]


def _verdict(settings: Settings, world: World) -> list[tuple[Any, ...]]:
    return rows(
        settings,
        "SELECT kind, started_at, cleared_at, late, jsonb_array_length(evidence) FROM alerts "
        "WHERE case_id = %(c)s ORDER BY started_at, kind",
        {"c": world.case_id},
    ) + rows(
        settings,
        "SELECT state->>'condition', state->>'episode_start', state->'recent', "
        "state->'violating_run'->'count', state->'clearing_run'->'count', watermark_ms "
        "FROM geofence_state "
        "WHERE case_id = %(c)s",
        {"c": world.case_id},
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_batchings_give_the_same_alerts(settings: Settings, seed: int) -> None:
    verdicts = []
    for batching in ("one batch", "one upload per batch", "random"):
        world = build_world(settings)
        add_circle_rule(settings, world, grace={"open_after_fixes": 2, "clear_after_fixes": 2})
        uploads = _uploads(random.Random(seed), world.device_id)
        if batching == "one batch":
            batches = [[p for u in uploads for p in u]]
        elif batching == "one upload per batch":
            batches = uploads
        else:
            rnd = random.Random(seed * 7)
            batches, current = [], []
            for u in uploads:
                current += u
                if rnd.random() < 0.4:
                    batches.append(current)
                    current = []
            batches += [current] if current else []
        asyncio.run(run_batches(settings, [EvaluationInput(b) for b in batches]))
        verdicts.append(_verdict(settings, world))
    assert verdicts[0]  # the track does leave the permitted area
    assert verdicts[1] == verdicts[0]
    assert verdicts[2] == verdicts[0]
