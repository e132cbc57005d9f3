"""WeCom (企业微信) group robot: ``POST <url>?key=<key>`` with a ``markdown`` message.

Format (WeCom's "群机器人配置说明"): ``{"msgtype": "markdown", "markdown": {"content": ...}}``,
content at most 4096 bytes of UTF-8. Markdown messages cannot @-mention by mobile, so the
recipient's name is written in the text. ``errcode`` -1 (busy) and 45009 (over 20 messages a
minute) are transient; others (93000 bad key, 40008 bad type, 45002 too long, ...) permanent.
"""

from __future__ import annotations

from typing import Any

import httpx

from config.settings import RobotSettings
from notify import catalogue
from notify.channel import Clock, attempt, utc_now
from notify.models import Attempt, Notification, Outcome
from notify.robots.post import post_json

MAX_CONTENT_BYTES = 4096
TRANSIENT_ERRCODES = frozenset({-1, 45009})


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def payload(notification: Notification) -> dict[str, Any]:
    """The JSON body (pure)."""
    content = f"{catalogue.markdown(notification)}\n\n→ {notification.recipient.name}"
    return {
        "msgtype": "markdown",
        "markdown": {"content": truncate_utf8(content, MAX_CONTENT_BYTES)},
    }


class WeComChannel:
    """One WeCom group robot."""

    name = "wecom"

    def __init__(
        self, settings: RobotSettings, *, client: httpx.AsyncClient, clock: Clock = utc_now
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock

    async def send(self, notification: Notification) -> Attempt:
        started = self._clock()
        key = self._settings.token.get_secret_value() if self._settings.token else ""
        if not key:
            return attempt(
                channel=self.name,
                notification=notification,
                outcome=Outcome.rejected,
                started_at=started,
                clock=self._clock,
                reply="",
                reason="no robot key configured",
            )
        reply = await post_json(
            self._client,
            self._settings.url,
            {"key": key},
            payload(notification),
            transient=TRANSIENT_ERRCODES,
            timeout_s=self._settings.timeout_s,
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
