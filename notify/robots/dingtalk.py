"""DingTalk (钉钉) custom group robot: ``POST <url>?access_token=..&timestamp=..&sign=..``
with a ``markdown`` message.

Signing ("加签"): ``sign = base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))``,
URL-encoded, ``timestamp`` in epoch milliseconds (DingTalk refuses one more than an hour off).
Format: ``{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atMobiles": [...],
"isAtAll": false}}``; an @-mention needs ``@<mobile>`` in the text too. ``errcode`` -1 (busy),
130101 and 410100 (over 20 messages a minute) are transient; others (310000 signature or
keyword or IP refused, 300001 bad token, ...) permanent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

import httpx

from config.settings import RobotSettings
from notify import catalogue
from notify.channel import Clock, attempt, utc_now
from notify.models import Attempt, Notification, Outcome
from notify.robots.post import post_json

TRANSIENT_ERRCODES = frozenset({-1, 130101, 410100})


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query parameter before URL encoding (httpx encodes it)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def query(token: str, secret: str | None, now: datetime) -> dict[str, str]:
    """Query parameters of a send: the token, and the signature when a secret is set."""
    params = {"access_token": token}
    if secret:
        timestamp = int(now.timestamp() * 1000)
        params |= {"timestamp": str(timestamp), "sign": sign(secret, timestamp)}
    return params


def payload(notification: Notification) -> dict[str, Any]:
    """The JSON body (pure)."""
    mobile = notification.recipient.mobile
    text = catalogue.markdown(notification)
    if mobile:
        text += f"\n\n@{mobile}"
    return {
        "msgtype": "markdown",
        "markdown": {"title": catalogue.title(notification), "text": text},
        "at": {"atMobiles": [mobile] if mobile else [], "isAtAll": False},
    }


class DingTalkChannel:
    """One DingTalk custom robot, signed when a secret is configured."""

    name = "dingtalk"

    def __init__(
        self, settings: RobotSettings, *, client: httpx.AsyncClient, clock: Clock = utc_now
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock

    async def send(self, notification: Notification) -> Attempt:
        started = self._clock()
        s = self._settings
        token = s.token.get_secret_value() if s.token else ""
        if not token:
            return attempt(
                channel=self.name,
                notification=notification,
                outcome=Outcome.rejected,
                started_at=started,
                clock=self._clock,
                reply="",
                reason="no robot access_token configured",
            )
        secret = s.secret.get_secret_value() if s.secret else None
        reply = await post_json(
            self._client,
            s.url,
            query(token, secret, self._clock()),
            payload(notification),
            transient=TRANSIENT_ERRCODES,
            timeout_s=s.timeout_s,
        )
        return attempt(
            channel=self.name,
            notification=notification,
            outcome=reply.outcome,
            started_at=started,
            clock=self._clock,
            reply=reply.reply,
            reason=reply.reason,
        )
