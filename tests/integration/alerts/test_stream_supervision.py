"""The API process's live-stream hub under faults, through a real ``python -m api``: a poison
outbox row is skipped while the rows around it reach the subscriber, and a fault a retry cannot
mend ends the hub's loop, the subscriber's stream and the process (status 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from api.auth import tokens
from config.settings import Settings
from tests.integration.alerts.sse import SseClient
from tests.integration.alerts.world import build_world, execute
from tests.integration.ingest.helpers import free_port
from tests.support.services import process_log, service_process, wait_until

pytestmark = pytest.mark.integration

INSERT_ROW = (
    "INSERT INTO outbox (unit_id, topic, payload) VALUES (%(u)s, 'alert.opened', %(p)s) "
    "RETURNING id"
)


def test_the_hub_skips_a_poison_row_and_exits_non_zero_on_a_permanent_fault(
    alert_settings: Settings,
) -> None:
    settings = alert_settings.model_copy(
        update={"api": alert_settings.api.model_copy(update={"port": free_port()})}
    )
    world = build_world(settings)
    token, _ = tokens.issue(settings.api, user_id=world.supervisor_id, token_type="access",
                            now=datetime.now(UTC))  # fmt: skip
    base = f"http://127.0.0.1:{settings.api.port}"

    def health() -> int:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code
        except httpx.HTTPError:
            return 0

    with service_process("api", settings) as api:
        wait_until(lambda: health() == 200, timeout_s=20, what="the API")
        sse = SseClient(f"{base}/alerts/stream", {"Authorization": f"Bearer {token}"}).start()
        ids = [
            execute(settings, INSERT_ROW, {"u": world.police_unit, "p": json.dumps(p)})
            for p in ({"alert": {"id": 1}}, [1, 2], {"alert": {"id": 2}})
        ]
        wait_until(lambda: len(sse.events) >= 2, timeout_s=10, what="the good rows live")
        assert sse.ids() == [ids[0], ids[2]]
        assert health() == 200
        # The schema no longer matches the code (as after a wrong deploy): no retry mends it.
        execute(settings, "ALTER TABLE outbox RENAME COLUMN topic TO kind")
        execute(
            settings,
            "INSERT INTO outbox (unit_id, kind, payload) VALUES (%(u)s, 'alert.opened', '{}')",
            {"u": world.police_unit},
        )
        wait_until(lambda: api.poll() is not None, timeout_s=20, what="the API to exit")
        sse.close()
        assert api.returncode == 1
        records = [json.loads(line) for line in process_log(api).splitlines()
                   if line.startswith("{")]  # fmt: skip
        ended = [r for r in records if r["msg"].startswith("supervised loop ended")]
        assert [r["loop"] for r in ended] == ["stream_fan_out"]
        assert "UndefinedColumnError" in ended[0]["exc"]
        assert any(r["msg"] == "stream item skipped" and r["outbox_id"] == ids[1]
                   for r in records)  # fmt: skip
