"""A violation published over MQTT, through two ingesters sharing the subscription and a watch
re-sending its fixes (as after a QoS 1 redelivery): one episode is one alert, opened once."""

from __future__ import annotations

import pytest

from config.settings import Settings
from tests.integration.alerts.world import AWAY, HOME, add_circle_rule, build_world, rows
from tests.integration.ingest.helpers import fix, ingester, loc, now_ms, with_metrics
from tests.support import services

pytestmark = pytest.mark.integration


def test_one_alert_per_episode_with_two_ingesters_and_resent_fixes(settings: Settings) -> None:
    world = build_world(settings)
    add_circle_rule(settings, world)
    d = world.device_id
    t0 = now_ms() - 60_000
    path = [HOME, AWAY, AWAY, HOME, HOME, AWAY, HOME]
    messages = [
        loc(d, fix(t0 + 1000 * i, i, lon=lon, lat=lat)) for i, (lon, lat) in enumerate(path)
    ]
    a = with_metrics(settings)
    b_ingest = settings.ingest.model_copy(update={"client_id": settings.ingest.client_id + "-b"})
    b = with_metrics(settings.model_copy(update={"ingest": b_ingest}))

    def cleared() -> int:
        return len(rows(settings, "SELECT 1 FROM alerts WHERE cleared_at IS NOT NULL"))

    try:
        with ingester(a), ingester(b):
            client = services.mqtt_client(settings)
            for m in messages:
                services.publish_all(client, [m, m])  # each fix twice, to either ingester
            services.wait_until(lambda: cleared() == 2, timeout_s=20, what="both episodes")
            client.disconnect()
    finally:
        services.drop_mqtt_session(b, b.ingest.client_id)
    found = rows(
        settings,
        "SELECT a.started_at, count(*) FILTER (WHERE o.topic = 'alert.opened') FROM alerts a "
        "JOIN outbox o ON o.payload->'alert'->>'id' = "
        "a.id::text GROUP BY a.id ORDER BY a.id",
    )
    assert [n for _, n in found] == [1, 1]
    assert [int(s.timestamp() * 1000) for s, _ in found] == [t0 + 1000, t0 + 5000]
