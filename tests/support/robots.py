"""Local stand-ins for the WeCom and DingTalk robot APIs, for the robot channel tests.

Each is a Starlette app served by uvicorn on a loopback port. It checks what the vendor
checks (the key or access token; DingTalk's timestamp within an hour and its HMAC-SHA256
signature, computed here independently from the decoded query; the JSON format of a markdown
message and its size) and answers as the vendor does: HTTP 200 with ``{"errcode", "errmsg"}``.
``busy`` makes the next requests answer the vendor's rate-limit errcode; ``stop`` and
``start`` simulate an API that is unreachable for a while.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.smsc import free_port


def reply(errcode: int, errmsg: str) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": errmsg})


@dataclass
class Receiver(ABC):
    """Common state: accepted messages, the raw queries seen, and a busy counter."""

    path: str
    port: int = field(default_factory=free_port)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    busy: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def app(self) -> Starlette:
        return Starlette(routes=[Route(self.path, self.handle, methods=["POST"])])

    @abstractmethod
    async def handle(self, request: Request) -> JSONResponse:
        """Answer one request as the vendor does."""

    async def start(self) -> None:
        # The socket listens before uvicorn starts: a request that comes early waits in the
        # backlog instead of being refused, so there is nothing to wait for here.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server, self._task = None, None

    async def json_body(self, request: Request) -> Any:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            return json.loads(await request.body())
        except ValueError:
            return None


@dataclass
class WeComReceiver(Receiver):
    """``POST /cgi-bin/webhook/send?key=...`` as WeCom answers it."""

    path: str = "/cgi-bin/webhook/send"
    key: str = "0d4c1a52-7c8e-4f6e-9a3b-5b2f1e9d8c7a"

    async def handle(self, request: Request) -> JSONResponse:
        self.requests += 1
        if request.query_params.get("key") != self.key:
            return reply(93000, "invalid webhook url")
        if self.busy > 0:
            self.busy -= 1
            return reply(45009, "api freq out of limit")
        body = await self.json_body(request)
        if not isinstance(body, dict) or body.get("msgtype") not in {"text", "markdown"}:
            return reply(40008, "invalid message type")
        content = body.get(body["msgtype"], {}).get("content")
        if not isinstance(content, str) or not content:
            return reply(44004, "empty content")
        limit = 4096 if body["msgtype"] == "markdown" else 2048
        if len(content.encode("utf-8")) > limit:
            return reply(45002, "content size out of limit")
        self.accepted.append(body)
        return reply(0, "ok")


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


@dataclass
class DingTalkReceiver(Receiver):
    """``POST /robot/send?access_token=..&timestamp=..&sign=..`` as DingTalk answers it."""

    path: str = "/robot/send"
    token: str = "5f2e8d1c9b7a6f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e"
    secret: str = "SEC3b5e7d9f1a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b"

    async def handle(self, request: Request) -> JSONResponse:
        self.requests += 1
        q = request.query_params
        if q.get("access_token") != self.token:
            return reply(300001, "token is not exist")
        timestamp, sign = q.get("timestamp", ""), q.get("sign", "")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 3_600_000:
            return reply(310000, "invalid timestamp")
        if not hmac.compare_digest(sign, dingtalk_sign(self.secret, timestamp)):
            return reply(310000, "sign not match")
        if self.busy > 0:
            self.busy -= 1
            return reply(130101, "send too fast, exceed 20 times per minute")
        body = await self.json_body(request)
        if not isinstance(body, dict) or body.get("msgtype") != "markdown":
            return reply(40035, "缺少参数 msgtype")
        md = body.get("markdown", {})
        if not md.get("title") or not md.get("text"):
            return reply(40035, "缺少参数 markdown")
        self.accepted.append({**body, "_query": dict(q)})
        return reply(0, "ok")
