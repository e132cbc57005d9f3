"""Adversity: database and broker restarts, a killed ingester, two ingesters, SIGTERM."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from config.settings import Settings
from tests.integration.ingest.helpers import (
    count_pings,
    fix,
    ingester,
    loc,
    metric,
    now_ms,
    scalar,
    services_sh,
    with_metrics,
)  # fmt: skip
from tests.support import services

pytestmark = pytest.mark.integration


def stream(device_ids: list[str], n_per_device: int, t0: int) -> list[tuple[str, bytes]]:
    return [
        loc(d, fix(t0 + i * 1000, i, lat=31.2 + i * 1e-5))
        for i in range(n_per_device) for d in device_ids
    ]  # fmt: skip


def test_ack_only_after_commit_across_a_database_restart(any_client: Settings) -> None:
    settings = any_client
    settings = with_metrics(settings)
    services.seed_devices(settings, ["w-db"])
    messages = stream(["w-db"], 50, now_ms() - 100_000)
    with ingester(settings):
        client = services.mqtt_client(settings)
        services_sh(settings, "stop-postgres")
        try:
            services.publish_all(client, messages)
            services.wait_until(
                lambda: metric(settings, "bailwatch_ingest_write_retries_total") >= 2,
                timeout_s=20, what="the ingester failing to commit",
            )  # fmt: skip
            assert metric(settings, "bailwatch_ingest_acks_total") == 0
        finally:
            services_sh(settings, "start-postgres")
        services.wait_until(lambda: count_pings(settings) == 50, timeout_s=30, what="50 fixes")
        services.wait_until(
            lambda: metric(settings, "bailwatch_ingest_acks_total") == 50,
            timeout_s=10, what="50 acks after commit",
        )  # fmt: skip
        client.disconnect()
    assert scalar(settings, "SELECT count(DISTINCT (seq)) FROM pings") == 50


def test_kill_9_mid_stream_loses_and_doubles_nothing(any_client: Settings) -> None:
    settings = any_client
    devices = [f"w-k{i}" for i in range(20)]
    services.seed_devices(settings, devices)
    messages = stream(devices, 150, now_ms() - 200_000)  # 3000 messages
    client = services.mqtt_client(settings)
    with ingester(settings) as first:
        publisher = threading.Thread(target=services.publish_all, args=(client, messages))
        publisher.start()
        services.wait_until(lambda: count_pings(settings) > 300, timeout_s=20, what="some fixes")
        first.send_signal(signal.SIGKILL)
        first.wait()
        publisher.join(30)
    stored_before = count_pings(settings)
    assert stored_before < len(messages), "killed before the end of the stream"
    with ingester(settings):
        services.wait_until(
            lambda: count_pings(settings) == len(messages), timeout_s=30, what="every fix"
        )
    client.disconnect()
    assert scalar(settings, "SELECT count(*) FROM dead_letters") == 0
    assert count_pings(settings) == len(messages)


def test_two_ingesters_share_the_stream_without_conflict(any_client: Settings) -> None:
    settings = any_client
    devices = [f"w-s{i}" for i in range(10)]
    services.seed_devices(settings, devices)
    messages = stream(devices, 200, now_ms() - 300_000)
    a = with_metrics(settings)
    b = with_metrics(
        settings.model_copy(
            update={"ingest": settings.ingest.model_copy(
                update={"client_id": settings.ingest.client_id + "-b"})}
        )
    )  # fmt: skip
    try:
        with ingester(a), ingester(b):
            client = services.mqtt_client(settings)
            services.publish_all(client, messages)
            services.publish_all(client, messages[:500])  # a watch re-sending
            services.wait_until(
                lambda: count_pings(settings) == len(messages), timeout_s=30, what="every fix"
            )
            services.wait_until(
                lambda: metric(a, "bailwatch_ingest_acks_total")
                + metric(b, "bailwatch_ingest_acks_total") == len(messages) + 500,
                timeout_s=15, what="every message acknowledged",
            )  # fmt: skip
            took = [metric(x, "bailwatch_ingest_messages_total") for x in (a, b)]
            client.disconnect()
    finally:
        services.drop_mqtt_session(b, b.ingest.client_id)
    assert all(n > 0 for n in took), f"both ingesters took part: {took}"
    assert count_pings(settings) == len(messages)


def test_broker_restart_is_survived(any_client: Settings) -> None:
    settings = any_client
    services.seed_devices(settings, ["w-br"])
    t0 = now_ms() - 100_000
    with ingester(settings) as proc:
        client = services.mqtt_client(settings)
        services.publish_all(client, stream(["w-br"], 10, t0))
        services.wait_until(lambda: count_pings(settings) == 10, timeout_s=15, what="10 fixes")
        client.disconnect()
        services_sh(settings, "stop-mosquitto")
        services_sh(settings, "start-mosquitto")
        services.wait_for_log(proc, '"gen": 2')
        client = services.mqtt_client(settings)
        services.publish_all(client, [loc("w-br", fix(t0 + 50_000, 50))])
        services.wait_until(lambda: count_pings(settings) == 11, timeout_s=20, what="11 fixes")
        client.disconnect()
        assert proc.poll() is None


def test_sigterm_flushes_and_exits_within_the_deadline(any_client: Settings) -> None:
    settings = any_client
    services.seed_devices(settings, ["w-term"])
    messages = stream(["w-term"], 200, now_ms() - 300_000)
    with ingester(settings) as proc:
        client = services.mqtt_client(settings)
        services.publish_all(client, messages)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=settings.ingest.shutdown_deadline_s + 5)
        took = time.monotonic() - started
        client.disconnect()
    assert code == 0
    assert took < settings.ingest.shutdown_deadline_s
    stored = count_pings(settings)
    with ingester(settings):  # whatever was not committed is redelivered, nothing twice
        services.wait_until(lambda: count_pings(settings) == 200, timeout_s=20, what="200")
    assert stored <= 200
