"""WeCom and DingTalk group robots against local receivers that check format and signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from config.settings import RobotSettings
from notify import catalogue
from notify.models import Outcome
from notify.robots.dingtalk import DingTalkChannel, sign
from notify.robots.wecom import WeComChannel
from tests.support.notifications import notification
from tests.support.robots import DingTalkReceiver, WeComReceiver


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
async def wecom() -> AsyncIterator[WeComReceiver]:
    receiver = WeComReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def dingtalk() -> AsyncIterator[DingTalkReceiver]:
    receiver = DingTalkReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


def wecom_channel(
    r: WeComReceiver, client: httpx.AsyncClient, key: str | None = None
) -> WeComChannel:
    settings = RobotSettings.model_validate({"url": r.url, "token": key or r.key, "timeout_s": 5})
    return WeComChannel(settings, client=client)


def dingtalk_channel(
    r: DingTalkReceiver, client: httpx.AsyncClient, *, secret: str | None = None, clock=None
) -> DingTalkChannel:
    settings = RobotSettings.model_validate(
        {"url": r.url, "token": r.token, "secret": secret or r.secret, "timeout_s": 5}
    )
    if clock is None:
        return DingTalkChannel(settings, client=client)
    return DingTalkChannel(settings, client=client, clock=clock)


async def test_wecom_markdown_arrives_in_chinese(
    wecom: WeComReceiver, client: httpx.AsyncClient
) -> None:
    n = notification()
    result = await wecom_channel(wecom, client).send(n)
    assert result.outcome is Outcome.accepted, result
    [body] = wecom.accepted
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith(f"### {catalogue.title(n)}")
    assert "**人员**：张三" in content
    assert "被害人住所禁入区（东营区西城街道）" in content
    assert '"errcode":0' in result.reply.replace(" ", "")


async def test_wecom_wrong_key_is_permanent(
    wecom: WeComReceiver, client: httpx.AsyncClient
) -> None:
    result = await wecom_channel(wecom, client, key="not-the-key").send(notification())
    assert result.outcome is Outcome.rejected
    assert result.reason is not None
    assert result.reason.startswith("errcode 93000")
    assert wecom.accepted == []


async def test_wecom_rate_limit_then_success(
    wecom: WeComReceiver, client: httpx.AsyncClient
) -> None:
    channel = wecom_channel(wecom, client)
    wecom.busy = 1
    first = await channel.send(notification())
    assert first.outcome is Outcome.failed
    assert first.reason is not None
    assert first.reason.startswith("errcode 45009")
    second = await channel.send(notification())
    assert second.outcome is Outcome.accepted
    assert len(wecom.accepted) == 1


async def test_wecom_unreachable_then_back(wecom: WeComReceiver, client: httpx.AsyncClient) -> None:
    channel = wecom_channel(wecom, client)
    await wecom.stop()
    down = await channel.send(notification())
    assert down.outcome is Outcome.failed
    assert down.reason == "ConnectError"
    await wecom.start()
    up = await channel.send(notification())
    assert up.outcome is Outcome.accepted
    assert len(wecom.accepted) == 1


async def test_dingtalk_signed_markdown_arrives(
    dingtalk: DingTalkReceiver, client: httpx.AsyncClient
) -> None:
    n = notification()
    result = await dingtalk_channel(dingtalk, client).send(n)
    assert result.outcome is Outcome.accepted, result
    [body] = dingtalk.accepted
    assert body["markdown"]["title"] == catalogue.title(n)
    assert "**案件**：东公(刑)取保字〔2026〕003号" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": ["8613800138000"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("@8613800138000")


async def test_dingtalk_signature_survives_url_encoding(
    dingtalk: DingTalkReceiver, client: httpx.AsyncClient
) -> None:
    # A timestamp (now, give or take a few ms) whose signature has '+', '/' and '=' in it:
    # they must be percent-encoded in the query or DingTalk reads another signature.
    base = int(datetime.now(UTC).timestamp() * 1000)
    ts = next(t for t in range(base, base + 100_000) if {"+", "/"} <= set(sign(dingtalk.secret, t)))
    fixed = datetime.fromtimestamp(ts / 1000, UTC)
    result = await dingtalk_channel(dingtalk, client, clock=lambda: fixed).send(notification())
    assert result.outcome is Outcome.accepted, result
    assert dingtalk.accepted[0]["_query"]["timestamp"] == str(ts)


async def test_dingtalk_wrong_secret_is_refused(
    dingtalk: DingTalkReceiver, client: httpx.AsyncClient
) -> None:
    result = await dingtalk_channel(dingtalk, client, secret="SECwrong").send(notification())
    assert result.outcome is Outcome.rejected
    assert result.reason == "errcode 310000: sign not match"
    assert dingtalk.accepted == []


async def test_dingtalk_stale_timestamp_is_refused(
    dingtalk: DingTalkReceiver, client: httpx.AsyncClient
) -> None:
    stale = datetime(2026, 1, 1, tzinfo=UTC)
    result = await dingtalk_channel(dingtalk, client, clock=lambda: stale).send(notification())
    assert result.outcome is Outcome.rejected
    assert dingtalk.accepted == []


async def test_dingtalk_too_fast_then_success(
    dingtalk: DingTalkReceiver, client: httpx.AsyncClient
) -> None:
    channel = dingtalk_channel(dingtalk, client)
    dingtalk.busy = 2
    results = [await channel.send(notification()) for _ in range(3)]
    assert [r.outcome for r in results] == [Outcome.failed, Outcome.failed, Outcome.accepted]
    assert len(dingtalk.accepted) == 1
