"""The live stream through a real API process: scoped, resumable without loss after a
disconnect; and the lifecycle refuses a resolve without a note and keeps the whole timeline."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta

import httpx

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from api.auth import tokens
from config.settings import Settings
from ingest.models import Status
from store.pool import open_pool
from tests.integration.alerts.sse import SseClient
from tests.integration.alerts.world import World, build_world, execute, rows
from tests.integration.ingest.helpers import free_port
from tests.support.services import process_log, service_process, wait_until

T0 = datetime.now(UTC) - timedelta(minutes=5)


async def _statuses(settings: Settings, statuses: list[Status]) -> None:
    evaluator = Evaluator(settings.alerts, AlertMetrics())
    async with open_pool(settings.db, application_name="test") as pool:
        for s in statuses:
            async with pool.acquire() as conn, conn.transaction():
                await evaluator.run(conn, EvaluationInput([], statuses=[s]))


def _status(world: World, i: int, **fields: object) -> Status:
    at = T0 + timedelta(seconds=i)
    return Status(world.device_id, at, at, **fields)  # type: ignore[arg-type]


def _api(settings: Settings) -> Settings:
    api = settings.api.model_copy(update={"port": free_port()})
    return settings.model_copy(update={"api": api})


def wait_ready(settings: Settings, api: subprocess.Popen[bytes]) -> None:
    """Wait until the API process answers /healthz."""

    def up() -> bool:
        if api.poll() is not None:
            raise AssertionError(process_log(api))
        try:
            url = f"http://127.0.0.1:{settings.api.port}/healthz"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout_s=20, what="the API")


def _bearer(settings: Settings, user_id: int) -> dict[str, str]:
    token, _ = tokens.issue(settings.api, user_id=user_id, token_type="access",
                            now=datetime.now(UTC))  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def test_stream_resumes_after_a_disconnect_without_losing_alerts(alert_settings: Settings) -> None:
    settings = _api(alert_settings)
    world = build_world(settings, no_signal_limit_s=30 * 86_400)
    other = build_world(settings, no_signal_limit_s=30 * 86_400)
    base = f"http://127.0.0.1:{settings.api.port}/alerts/stream"
    headers = _bearer(settings, world.supervisor_id)
    with service_process("api", settings) as api:
        wait_ready(settings, api)
        first = SseClient(base, headers).start()
        asyncio.run(_statuses(settings, [_status(world, 1, strap_closed=False)]))
        asyncio.run(_statuses(settings, [_status(other, 1, strap_closed=False)]))
        wait_until(lambda: len(first.events) >= 1, timeout_s=5, what="the first alert live")
        first.close()
        last_id = first.ids()[-1]
        # While disconnected: the strap closes (condition cleared), the battery runs low.
        asyncio.run(_statuses(settings, [
            _status(world, 2, strap_closed=True),
            _status(world, 3, battery_pct=4, charging=False),
        ]))  # fmt: skip
        resumed = SseClient(base, {**headers, "Last-Event-ID": str(last_id)}).start()
        asyncio.run(_statuses(settings, [_status(world, 4, strap_closed=False)]))
        wait_until(lambda: len(resumed.events) >= 3, timeout_s=5, what="replay and live events")
        resumed.close()
    mine = [
        r[0]
        for r in rows(
            settings,
            "SELECT id FROM outbox WHERE unit_id = %(u)s ORDER BY id",
            {"u": world.police_unit},
        )
    ]
    assert first.ids() + resumed.ids() == mine  # all of them, once, in order, nothing of `other`
    kinds = [(e[1], e[2]["alert"]["kind"]) for e in first.events + resumed.events]
    assert kinds == [
        ("alert.opened", "strap_opened"),
        ("alert.condition_cleared", "strap_opened"),
        ("alert.opened", "battery_critical"),
        ("alert.opened", "strap_opened"),
    ]


def test_lifecycle_refuses_resolve_without_note_and_keeps_the_timeline(
    alert_settings: Settings,
) -> None:
    settings = _api(alert_settings)
    world = build_world(settings, no_signal_limit_s=30 * 86_400)
    execute(
        settings, "UPDATE users SET role = 'police' WHERE id = %(u)s", {"u": world.supervisor_id}
    )
    asyncio.run(_statuses(settings, [
        _status(world, 1, strap_closed=False), _status(world, 2, strap_closed=True),
    ]))  # fmt: skip
    alert_id = rows(settings, "SELECT id FROM alerts")[0][0]
    url = f"http://127.0.0.1:{settings.api.port}/alerts/{alert_id}"
    headers = _bearer(settings, world.supervisor_id)
    with service_process("api", settings) as api, httpx.Client(headers=headers) as http:
        wait_ready(settings, api)
        refused = http.post(f"{url}/resolve", json={"disposition": "false_alarm", "note": ""})
        assert refused.status_code == 422
        refused = http.post(f"{url}/resolve", json={"disposition": "false_alarm"})
        assert refused.status_code == 422
        assert http.post(f"{url}/acknowledge").status_code == 200
        done = http.post(
            f"{url}/resolve",
            json={"disposition": "technical_fault", "note": "strap buckle faulty, replaced"},
        )
        assert done.status_code == 200, done.text
        assert http.post(f"{url}/acknowledge").status_code == 409
    timeline = rows(
        settings,
        "SELECT kind, actor_id FROM alert_events WHERE alert_id = %(a)s ORDER BY id",
        {"a": alert_id},
    )
    assert timeline == [
        ("opened", None),
        ("condition_cleared", None),
        ("acknowledged", world.supervisor_id),
        ("resolved", world.supervisor_id),
    ]
    assert rows(settings, "SELECT status, disposition, resolution_note FROM alerts") == [
        ("resolved", "technical_fault", "strap buckle faulty, replaced")
    ]
    topics = [r[0] for r in rows(settings, "SELECT topic FROM outbox ORDER BY id")]
    assert topics[-2:] == ["alert.acknowledged", "alert.resolved"]
