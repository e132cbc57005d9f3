"""POST one robot message and judge the reply. Both vendors answer HTTP 200 with
``{"errcode": 0, "errmsg": "ok"}`` on success and a non-zero ``errcode`` otherwise.

HTTP 429 and 5xx, timeouts and connection errors are transient; a reply that is not the
vendor's JSON is transient too (a proxy's error page); a non-zero ``errcode`` is transient
only when it is in the vendor's ``transient`` set (busy, rate-limited), permanent otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from notify.models import Outcome


@dataclass(frozen=True, slots=True)
class RobotReply:
    outcome: Outcome
    reply: str
    reason: str | None


def judge(status: int, body: bytes, transient: Collection[int]) -> RobotReply:
    """The outcome of an HTTP reply from a robot webhook (pure)."""
    text = body.decode("utf-8", errors="replace")[:2000]
    if status == 429 or status >= 500:
        return RobotReply(Outcome.failed, text, f"HTTP {status}")
    if status >= 400:
        return RobotReply(Outcome.rejected, text, f"HTTP {status}")
    try:
        data: Any = json.loads(body)
        code = int(data["errcode"])
    except (ValueError, KeyError, TypeError):
        return RobotReply(Outcome.failed, text, "reply is not the robot's JSON")
    if code == 0:
        return RobotReply(Outcome.accepted, text, None)
    outcome = Outcome.failed if code in transient else Outcome.rejected
    return RobotReply(outcome, text, f"errcode {code}: {data.get('errmsg', '')}")


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    payload: dict[str, Any],
    *,
    transient: Collection[int],
    timeout_s: float,
) -> RobotReply:
    """POST ``payload`` as UTF-8 JSON and judge the reply; never raises for network trouble."""
    content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    try:
        resp = await client.post(
            url,
            params=params,
            content=content,
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        return RobotReply(Outcome.failed, str(exc), type(exc).__name__)
    return judge(resp.status_code, resp.content, transient)
