"""The SMPP session when the SMSC misbehaves: its own keepalives, silence, an unbind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from config.settings import SmppSettings
from notify.models import Outcome
from notify.smpp.channel import SmsChannel
from tests.support.notifications import notification
from tests.support.smsc import Smsc

PASSWORD = "pw-smpp"


def start_smsc(tmp_path: Path, **env: str) -> Smsc:
    server = Smsc(tmp_path, system_id="bailwatch", password=PASSWORD, env=env)
    server.start()
    return server


def settings(smsc: Smsc, **overrides: object) -> SmppSettings:
    base: dict[str, object] = {
        "port": smsc.port,
        "password": PASSWORD,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.5,
    }
    return SmppSettings.model_validate(base | overrides)


async def test_the_smsc_keepalives_are_answered(tmp_path: Path) -> None:
    smsc = start_smsc(tmp_path, SMPP_SMSC_ENQUIRE_MS="100")
    try:
        async with SmsChannel(settings(smsc)) as sms:
            await sms.session.wait_bound(10.0)
            resps = await smsc.wait_for("enquire_link_resp", count=3)
            assert all(r["command_status"] == 0 for r in resps)
    finally:
        smsc.stop()


async def test_an_unanswered_keepalive_drops_and_rebinds(tmp_path: Path) -> None:
    smsc = start_smsc(tmp_path, SMPP_IGNORE_ENQUIRE="1")
    try:
        quick = settings(smsc, enquire_link_s=0.2, response_timeout_s=0.3)
        async with SmsChannel(quick) as sms:
            await smsc.wait_for("bind", count=2)
            await sms.session.wait_bound(10.0)
            assert sms.session.binds >= 2
    finally:
        smsc.stop()


async def test_an_unanswered_submit_is_a_transient_failure(tmp_path: Path) -> None:
    smsc = start_smsc(tmp_path)
    try:
        async with SmsChannel(settings(smsc, response_timeout_s=0.5)) as sms:
            result = await sms.send(notification(mobile="7770001", zone=None))
            assert result.outcome is Outcome.failed
            assert result.reason == "ResponseTimeoutError"
            assert result.duration_s >= 0.5
            ok = await sms.send(notification())
            assert ok.outcome is Outcome.accepted
    finally:
        smsc.stop()


async def test_an_unbind_from_the_smsc_is_answered_and_the_session_rebinds(
    tmp_path: Path,
) -> None:
    smsc = start_smsc(tmp_path)
    try:
        async with SmsChannel(settings(smsc)) as sms:
            await sms.session.wait_bound(10.0)
            smsc.unbind_all()
            await smsc.wait_for("unbind_resp")
            await smsc.wait_for("bind", count=2)
            await sms.session.wait_bound(10.0)
            result = await sms.send(notification())
            assert result.outcome is Outcome.accepted
            assert sms.session.binds == 2
    finally:
        smsc.stop()


async def test_a_peer_that_speaks_garbage_never_binds_and_never_crashes() -> None:
    connections = 0
    retried = asyncio.Event()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if connections >= 3:  # it keeps trying, with backoff
            retried.set()
        await reader.read(64)
        writer.write(b"\x00\x00\x00\x05HTTP/1.1 400 Bad Request\r\n\r\n")  # length 5: impossible
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        s = SmppSettings(port=port, reconnect_min_s=0.05, reconnect_max_s=0.1, bind_wait_s=0.3)
        async with SmsChannel(s) as sms:
            result = await sms.send(notification())
            assert result.outcome is Outcome.failed
            assert result.reason == "SessionUnavailableError"
            # Garbage ends the attempt at once (not at the 5 s bind timeout).
            async with asyncio.timeout(3):
                await retried.wait()
            assert sms.session.binds == 0
    finally:
        server.close()
        await server.wait_closed()
