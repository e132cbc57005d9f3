"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from alerts.health import health_document
from api.deps import PoolDep, SettingsDep

router = APIRouter(tags=["operations"])

#: Seconds each readiness check may take.
CHECK_TIMEOUT_S = 2.0


@router.get(
    "/healthz",
    summary="The process is alive and its background loops (the live-stream hub) run",
    responses={503: {"description": "a background loop ended"}},
)
async def healthz(request: Request) -> JSONResponse:
    hub = getattr(request.app.state, "alert_stream", None)
    loops = hub.supervisor.health() if hub is not None else []
    status, body = health_document(loops) if loops else (200, {"status": "ok", "loops": {}})
    return JSONResponse(body, status_code=status)


async def _database_ok(pool: PoolDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return bool(await pool.fetchval("SELECT 1") == 1)
    except (OSError, TimeoutError, Exception):
        return False


async def _broker_ok(host: str, port: int) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            return True
    except (OSError, TimeoutError):
        return False


@router.get(
    "/readyz",
    summary="The database and the MQTT broker are reachable",
    responses={503: {"description": "a dependency is unreachable"}},
)
async def readyz(pool: PoolDep, settings: SettingsDep) -> JSONResponse:
    db, broker = await asyncio.gather(
        _database_ok(pool), _broker_ok(settings.mqtt.host, settings.mqtt.port)
    )
    ok = db and broker
    body = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if db else "unreachable",
        "broker": "ok" if broker else "unreachable",
    }
    return JSONResponse(body, status_code=200 if ok else 503)
