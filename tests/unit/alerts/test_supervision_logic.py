"""Pure parts of the alerts process's supervision and of the outbox drain: which faults are
retried, how an outbox row becomes messages (or is refused), the health document, and the
supervisor ending :meth:`Supervisor.run` when a loop ends."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.drain import dead_letter_reason, delivery_of
from alerts.health import health_document
from alerts.looping import LoopDiedError, LoopHealth, LoopService, Supervisor, transient
from alerts.mqtt import PublishError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=10,
)  # fmt: skip


def _row(payload: Any, unit_code: str | None = "PSB-1") -> dict[str, Any]:
    return {"id": 7, "topic": "alert.opened", "payload": payload, "unit_code": unit_code,
            "unit_id": 3}  # fmt: skip


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (asyncpg.ConnectionDoesNotExistError("gone"), True),
        (asyncpg.CannotConnectNowError("starting"), True),
        (asyncpg.AdminShutdownError("shutdown"), True),
        (asyncpg.DeadlockDetectedError("deadlock"), True),
        (asyncpg.SerializationError("retry"), True),
        (asyncpg.TooManyConnectionsError("full"), True),
        (asyncpg.QueryCanceledError("statement timeout"), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (asyncpg.UndefinedColumnError("no column"), False),
        (asyncpg.UndefinedTableError("no table"), False),
        (asyncpg.InsufficientPrivilegeError("denied"), False),
        (asyncpg.DataError("bad value"), False),
        (KeyError("at"), False),
        (PublishError("broker away"), False),
    ],
)
def test_transient_faults_are_the_ones_a_retry_can_mend(exc: BaseException, expected: bool) -> None:
    assert transient(exc) is expected


@given(json_values)
def test_a_payload_is_either_delivered_or_refused_never_anything_else(payload: Any) -> None:
    refused: Exception | None = None
    try:
        delivery = delivery_of(_row(payload))
    except Exception as exc:  # every refusal is an ordinary exception, never a BaseException
        refused = exc
    if refused is not None:
        reason = dead_letter_reason(refused)
        assert reason.startswith(type(refused).__name__)
        return
    assert isinstance(payload, dict)
    topic, body = delivery.messages[0]
    assert topic == "bw/v1/unit/PSB-1/alerts"
    assert json.loads(body)["id"] == 7
    assert delivery.unit_id == 3


@given(st.lists(json_values, max_size=3) | st.integers() | st.text(max_size=5))
def test_a_payload_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(TypeError):
        delivery_of(_row(payload))


def test_an_opened_alert_with_a_command_sends_it_after_the_unit_message() -> None:
    payload = {"event": {"kind": "opened", "data": {"cmd": {"vibrate": 2}}},
               "alert": {"id": 11, "device_id": "w1"}}  # fmt: skip
    delivery = delivery_of(_row(payload))
    assert [t for t, _ in delivery.messages] == ["bw/v1/unit/PSB-1/alerts", "bw/v1/dev/w1/cmd"]
    assert json.loads(delivery.messages[1][1]) == {"vibrate": 2, "alert_id": 11}
    assert delivery.command


def test_an_acknowledgement_without_its_time_is_refused_with_a_key_error() -> None:
    payload = {"event": {"kind": "acknowledged"}, "alert": {"opened_at": "2026-12-01T00:00:00Z"}}
    with pytest.raises(KeyError):
        delivery_of(_row(payload))


def test_a_long_reason_is_cut() -> None:
    assert len(dead_letter_reason(ValueError("x" * 5000))) == 1000


loop_health = st.builds(
    LoopHealth,
    name=st.sampled_from(["outbox_drain", "webhooks", "watchdog"]),
    age_s=st.floats(0, 1000),
    stale_after_s=st.floats(0.1, 500),
    alive=st.booleans(),
)


@given(st.lists(loop_health, max_size=4, unique_by=lambda h: h.name))
def test_health_is_200_exactly_when_every_loop_is_alive_and_fresh(
    loops: list[LoopHealth],
) -> None:
    status, body = health_document(loops)
    fine = bool(loops) and all(h.alive and h.age_s <= h.stale_after_s for h in loops)
    assert status == (200 if fine else 503)
    assert body["status"] == ("ok" if fine else "unhealthy")
    assert set(body["loops"]) == {h.name for h in loops}


class _Counting(LoopService):
    """A loop that beats ``beats`` times, then fails with ``error`` (or runs on)."""

    def __init__(self, name: str, beats: int, error: BaseException | None) -> None:
        self.name, self.beats, self.error = name, beats, error

    async def _loop(self) -> None:
        for _ in range(self.beats):
            await asyncio.sleep(0)
            self.beat()
        if self.error is not None:
            raise self.error
        await asyncio.Event().wait()


async def test_the_supervisor_stops_when_a_loop_ends() -> None:
    supervisor = Supervisor()
    async with _Counting("steady", 1, None) as steady, _Counting("fragile", 3, KeyError("x")) as f:
        supervisor.watch(steady)
        supervisor.watch(f)
        with pytest.raises(LoopDiedError, match="fragile"):
            await asyncio.wait_for(supervisor.run(asyncio.Event()), timeout=5)
        health = {h.name: h for h in supervisor.health()}
        assert health["steady"].ok
        assert not health["fragile"].alive


async def test_the_supervisor_returns_on_stop_and_ignores_the_cancelled_loops() -> None:
    supervisor = Supervisor()
    stop = asyncio.Event()
    async with _Counting("steady", 1, None) as steady:
        supervisor.watch(steady)
        stop.set()
        await asyncio.wait_for(supervisor.run(stop), timeout=5)
    assert [h.alive for h in supervisor.health()] == [False]


def test_a_loop_judged_only_by_being_alive_reports_no_staleness_limit() -> None:
    status, body = health_document([LoopHealth("stream_fan_out", 0.0, math.inf, True)])
    assert status == 200
    assert body["loops"]["stream_fan_out"]["stale_after_s"] is None
    json.dumps(body, allow_nan=False)
