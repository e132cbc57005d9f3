"""Every channel keeps the ``Channel`` contract (checked by mypy here, and at run time)."""

from __future__ import annotations

import httpx

from config.settings import DingTalkSettings, SmppSettings, SmtpSettings, WeComSettings
from notify.channel import Channel
from notify.email import EmailChannel
from notify.models import Outcome
from notify.robots.dingtalk import DingTalkChannel
from notify.robots.wecom import WeComChannel
from notify.smpp.channel import SmsChannel
from tests.support.notifications import notification


async def test_every_channel_is_a_channel() -> None:
    async with httpx.AsyncClient() as client:
        channels: list[Channel] = [
            SmsChannel(SmppSettings()),
            EmailChannel(SmtpSettings()),
            WeComChannel(WeComSettings(), client=client),
            DingTalkChannel(DingTalkSettings(), client=client),
        ]
    assert [c.name for c in channels] == ["sms", "email", "wecom", "dingtalk"]
    assert all(isinstance(c, Channel) for c in channels)


async def test_unconfigured_robots_refuse_without_sending() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent, got {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        for channel in (
            WeComChannel(WeComSettings(), client=client),
            DingTalkChannel(DingTalkSettings(), client=client),
        ):
            result = await channel.send(notification())
            assert result.outcome is Outcome.rejected
            assert result.reason is not None
            assert "configured" in result.reason
