"""SMS over SMPP 3.4 against a real, independent SMSC (node-smpp's server) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from config.settings import SmppSettings
from notify import catalogue
from notify.models import DeliveryReceipt, Outcome
from notify.smpp.channel import SmsChannel
from tests.support.notifications import notification
from tests.support.smsc import Smsc

PASSWORD = "pw-smpp"


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    server = Smsc(tmp_path, system_id="bailwatch", password=PASSWORD)
    server.start()
    yield server
    server.stop()


def smpp_settings(smsc: Smsc, **overrides: object) -> SmppSettings:
    base: dict[str, object] = {
        "port": smsc.port,
        "password": PASSWORD,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.5,
        "bind_wait_s": 5.0,
        "response_timeout_s": 5.0,
    }
    return SmppSettings.model_validate(base | overrides)


class Receipts:
    """A receipt sink that records what the channel hands it."""

    def __init__(self) -> None:
        self.got: list[DeliveryReceipt] = []
        self.changed = asyncio.Event()

    async def __call__(self, receipt: DeliveryReceipt) -> None:
        self.got.append(receipt)
        self.changed.set()

    async def wait(self, count: int, timeout_s: float = 20.0) -> list[DeliveryReceipt]:
        async with asyncio.timeout(timeout_s):
            while len(self.got) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.got


@pytest.fixture
async def channel(smsc: Smsc) -> AsyncIterator[tuple[SmsChannel, Receipts]]:
    receipts = Receipts()
    async with SmsChannel(smpp_settings(smsc), on_receipt=receipts) as sms:
        await sms.session.wait_bound(10.0)
        yield sms, receipts


async def test_chinese_long_message_arrives_whole_with_receipts(
    smsc: Smsc, channel: tuple[SmsChannel, Receipts]
) -> None:
    sms, receipts = channel
    n = notification()
    text = catalogue.sms_text(n)
    assert len(text) > 70  # needs concatenation

    result = await sms.send(n)

    assert result.outcome is Outcome.accepted, result
    assert len(result.message_ids) == 2
    [message] = await smsc.wait_for("message", lambda e: e["destination_addr"] == "8613800138000")
    assert message["text"] == text
    assert message["parts"] == 2
    assert message["message_ids"] == list(result.message_ids)
    submits = smsc.events("submit_sm")
    assert {s["data_coding"] for s in submits} == {0x08}
    assert all(s["esm_class"] & 0x40 and s["registered_delivery"] == 1 for s in submits)
    assert all(s["dest_addr_ton"] == 1 and s["dest_addr_npi"] == 1 for s in submits)
    # One receipt per part, matched by message id, and each answered with deliver_sm_resp OK.
    got = await receipts.wait(2)
    assert {r.message_id for r in got} == set(result.message_ids)
    assert all(r.delivered and r.error == "000" for r in got)
    resps = await smsc.wait_for("deliver_sm_resp", count=2)
    assert all(r["command_status"] == 0 for r in resps)


async def test_short_message_outside_the_bmp_is_one_part(
    smsc: Smsc, channel: tuple[SmsChannel, Receipts]
) -> None:
    sms, _ = channel
    n = notification(person="𠮷野", zone=None, kind="no_signal", case_number="DY-2026-003")
    text = catalogue.sms_text(n)
    assert len(text.encode("utf-16-be")) // 2 <= 70

    result = await sms.send(n)

    assert result.outcome is Outcome.accepted
    [message] = await smsc.wait_for("message")
    assert message["text"] == text
    assert smsc.events("submit_sm")[0]["udh"] == []


async def test_undelivered_receipt_is_reported(
    smsc: Smsc, channel: tuple[SmsChannel, Receipts]
) -> None:
    sms, receipts = channel
    result = await sms.send(notification(mobile="8880001", zone=None, kind="no_signal"))
    assert result.outcome is Outcome.accepted
    [receipt] = await receipts.wait(1)
    assert receipt.state == "UNDELIV"
    assert not receipt.delivered
    assert receipt.message_id == result.message_ids[0]


async def test_gateway_refusals_map_to_permanent_and_transient(
    channel: tuple[SmsChannel, Receipts],
) -> None:
    sms, _ = channel
    bad = await sms.send(notification(mobile="0001234"))
    assert bad.outcome is Outcome.rejected
    assert bad.reason == "ESME_RINVDSTADR"
    busy = await sms.send(notification(mobile="9991234"))
    assert busy.outcome is Outcome.failed
    assert busy.reason == "ESME_RTHROTTLED"
    nobody = await sms.send(notification(mobile=None))
    assert nobody.outcome is Outcome.rejected


async def test_a_failing_receipt_sink_makes_the_smsc_deliver_again(smsc: Smsc) -> None:
    calls: list[DeliveryReceipt] = []
    recorded = asyncio.Event()

    async def flaky(receipt: DeliveryReceipt) -> None:
        calls.append(receipt)
        if len(calls) == 1:
            raise RuntimeError("receipt store down")
        recorded.set()

    async with SmsChannel(smpp_settings(smsc), on_receipt=flaky) as sms:
        result = await sms.send(notification(zone=None, kind="no_signal"))
        assert result.outcome is Outcome.accepted
        async with asyncio.timeout(20):
            await recorded.wait()
    resps = await smsc.wait_for("deliver_sm_resp", count=2)
    assert [r["command_status"] for r in resps[:2]] == [0x64, 0]  # ESME_RX_T_APPN, then OK
    assert calls[0].message_id == calls[1].message_id == result.message_ids[0]


async def test_gateway_down_fails_transiently_then_reconnects(smsc: Smsc) -> None:
    async with SmsChannel(smpp_settings(smsc, bind_wait_s=0.5)) as sms:
        await sms.session.wait_bound(10.0)
        smsc.stop()

        down = await sms.send(notification(alert_id=1))
        assert down.outcome is Outcome.failed
        assert down.reason in {"SessionUnavailableError", "ConnectionLostError"}

        smsc.start()
        await sms.session.wait_bound(20.0)
        up = await sms.send(notification(alert_id=1))
        assert up.outcome is Outcome.accepted
        assert sms.session.binds == 2
    # Delivered once, after the gateway came back; and the session unbound on close.
    messages = await smsc.wait_for("message")
    assert len(messages) == 1
    await smsc.wait_for("unbind")


async def test_enquire_link_keeps_the_session_alive(smsc: Smsc) -> None:
    async with SmsChannel(smpp_settings(smsc, enquire_link_s=0.2)) as sms:
        await sms.session.wait_bound(10.0)
        await smsc.wait_for("enquire_link", count=3)
        assert sms.session.binds == 1


async def test_a_wrong_password_never_binds(smsc: Smsc) -> None:
    async with SmsChannel(smpp_settings(smsc, password="nope", bind_wait_s=0.3)) as sms:
        await smsc.wait_for("bind_refused")
        result = await sms.send(notification())
        assert result.outcome is Outcome.failed
        assert sms.session.binds == 0


async def test_concurrent_sends_share_one_session(
    smsc: Smsc, channel: tuple[SmsChannel, Receipts]
) -> None:
    sms, receipts = channel
    batch = [
        notification(alert_id=i, mobile=f"86138000{i:05d}", zone=None, case_number=f"DY-{i}")
        for i in range(20)
    ]
    results = await asyncio.gather(*(sms.send(n) for n in batch))

    assert all(r.outcome is Outcome.accepted for r in results)
    ids = [r.message_ids[0] for r in results]
    assert len(set(ids)) == 20
    messages = await smsc.wait_for("message", count=20)
    by_dest = {m["destination_addr"]: m for m in messages}
    for n, r in zip(batch, results, strict=True):
        assert n.recipient.mobile is not None
        assert by_dest[n.recipient.mobile]["text"] == catalogue.sms_text(n)
        assert by_dest[n.recipient.mobile]["message_ids"] == list(r.message_ids)
    assert len(messages) == 20
    got = await receipts.wait(20)
    assert {g.message_id for g in got} == set(ids)
    assert sms.session.binds == 1
