"""``GET /alerts/stream``: the caller's alerts live, as Server-Sent Events.

Each event is one alert timeline entry (opened, evidence added, condition cleared, escalated,
acknowledged, resolved): ``id`` is its outbox id, ``event`` its type (``alert.opened`` ...),
``data`` the JSON document also sent to the unit's MQTT topic and webhooks. Resume after a
disconnect with the ``Last-Event-ID`` header (browsers send it) or ``?after=<id>``: what was
missed is replayed from the outbox first. A comment line is sent every ``stream_heartbeat_s``.
``evidence_added`` entries are folded to at most one per alert per ``stream_evidence_every_s``
(``api.stream.coalesce``); a folded entry says how many entries and fixes it stands for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse

from alerts.webhooks import body_of
from api.auth.models import Principal, Role
from api.deps import require
from api.stream.coalesce import EvidenceCoalescer
from api.stream.service import Item, StreamHub

STREAM_ROLES = frozenset({Role.police, Role.supervisor, Role.prosecutor, Role.admin})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The process's stream hub, over the pool the app's own lifespan opened."""
    settings = app.state.settings
    on_fault = getattr(app.state, "on_fault", None)  # set by ``python -m api``
    async with StreamHub(app.state.pool, settings.db, settings.alerts, on_fault=on_fault) as hub:
        app.state.alert_stream = hub
        yield


router = APIRouter(tags=["alerts"], lifespan=lifespan)


def _event(item: Item) -> bytes:
    data = body_of(item.id, item.topic, item.payload).decode()
    return f"id: {item.id}\nevent: {item.topic}\ndata: {data}\n\n".encode()


@router.get(
    "/alerts/stream",
    summary="Live alert timeline entries of the caller's scope (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    principal: Annotated[Principal, Depends(require(STREAM_ROLES))],
    after: Annotated[int | None, Query(ge=0, description="replay entries after this id")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    hub: StreamHub = request.app.state.alert_stream
    start = after
    if last_event_id and last_event_id.isdigit():
        start = int(last_event_id)
    scope = await hub.scope_of(principal)
    sub = hub.subscribe(scope)
    heartbeat_s = hub.settings.stream_heartbeat_s

    async def events() -> AsyncIterator[bytes]:
        coalescer = EvidenceCoalescer(hub.settings.stream_evidence_every_s)
        try:
            yield b": connected\n\n"
            sent: set[int] = set()
            if start is not None:
                async for item in hub.replay(scope, start):
                    sent.add(item.id)
                    for out in coalescer.offer(item, time.monotonic()):
                        yield _event(out)
                for out in coalescer.flush():
                    yield _event(out)
            while True:
                due = coalescer.next_due()
                wait_s = heartbeat_s if due is None else max(0.0, due - time.monotonic())
                try:
                    live = await asyncio.wait_for(sub.queue.get(), min(heartbeat_s, wait_s))
                except TimeoutError:
                    ready = coalescer.due(time.monotonic())
                    for out in ready:
                        yield _event(out)
                    if not ready:
                        yield b": keepalive\n\n"
                    continue
                if live is None:
                    return
                if live.id not in sent:
                    for out in coalescer.offer(live, time.monotonic()):
                        yield _event(out)
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
