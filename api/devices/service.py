"""Devices: provisioning (row + broker credentials in one transaction), reads, assignments.

The broker is asked through ``broker.provision``; if it is unreachable nothing is stored (503).
A device reports for at most one case at a time (an open assignment); a case has at most one
open defendant device. Unassigning ends the assignment and keeps it as history. An administrator
may set an assignment's start back to when the watch was really fitted (``api.devices.logic``
bounds it; audited); the device's fixes dead-lettered as unassigned inside the assignment's window
are then marked for replay, and the ingester stores and judges them (``ingest.replay``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from api.auth.models import Principal, Role
from api.cases.service import get_visible as get_case
from api.cases.service import may_manage_unit
from api.devices.logic import StartBounds, start_refusal
from api.devices.models import AssignmentIn, AssignmentStartIn, MqttCredentials
from api.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
)
from broker.dynsec import DeviceCredentials, DynsecError
from broker.provision import AlreadyProvisionedError, admin_for, provision_device
from config.settings import MqttSettings
from store import assignments, audit, dead_letters
from store import device_registry as sql


def _scope(principal: Principal) -> tuple[str, int]:
    return principal.role.value, principal.unit_id


async def get_visible(
    *, conn: asyncpg.Connection, principal: Principal, device_id: str
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        sql.SELECT_VISIBLE, device_id, *_scope(principal)
    )
    if row is None:
        raise NotFoundError(f"no device {device_id}")
    return row


async def _issue(
    *, conn: asyncpg.Connection, mqtt: MqttSettings, device_id: str, rotate: bool
) -> DeviceCredentials:
    """New broker credentials for ``device_id`` (blocking broker calls run in a thread)."""
    try:
        admin = admin_for(mqtt)
        await asyncio.to_thread(admin.__enter__)
        try:
            return await provision_device(device_id, conn=conn, admin=admin, rotate=rotate)
        finally:
            await asyncio.to_thread(admin.__exit__, None, None, None)
    except AlreadyProvisionedError as exc:
        raise ConflictError(f"device {device_id} already has credentials; rotate them") from exc
    except DynsecError as exc:
        raise UnavailableError(f"the MQTT broker did not provision the device: {exc}") from exc


def credentials_out(mqtt: MqttSettings, creds: DeviceCredentials) -> MqttCredentials:
    return MqttCredentials(
        host=mqtt.host, port=mqtt.port, username=creds.username, password=creds.password,
        publish_prefix=f"bw/v1/dev/{creds.device_id}/",
        command_topic=f"bw/v1/dev/{creds.device_id}/cmd",
    )  # fmt: skip


async def provision(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    mqtt: MqttSettings,
    device_id: str,
    unit_id: int,
    imei: str | None,
    model: str | None,
) -> tuple[asyncpg.Record, DeviceCredentials]:
    """Register a device in ``unit_id``'s stock and issue its MQTT credentials (once)."""
    if not await may_manage_unit(conn=conn, principal=principal, unit_id=unit_id):
        raise BadRequestError(f"you do not manage unit {unit_id}")
    async with conn.transaction():
        if await conn.fetchval(sql.INSERT_DEVICE, device_id, unit_id, imei, model) is None:
            raise ConflictError(f"a device with id {device_id} or this IMEI exists already")
        creds = await _issue(conn=conn, mqtt=mqtt, device_id=device_id, rotate=False)
    return await get_visible(conn=conn, principal=principal, device_id=device_id), creds


async def rotate(
    *, conn: asyncpg.Connection, principal: Principal, mqtt: MqttSettings, device_id: str
) -> tuple[asyncpg.Record, DeviceCredentials]:
    """New credentials for a visible device; the old password stops working."""
    async with conn.transaction():
        if await conn.fetchrow(sql.LOCK_VISIBLE, device_id, *_scope(principal)) is None:
            raise NotFoundError(f"no device {device_id}")
        creds = await _issue(conn=conn, mqtt=mqtt, device_id=device_id, rotate=True)
    return await get_visible(conn=conn, principal=principal, device_id=device_id), creds


async def assign(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    body: AssignmentIn,
    backdate_max_s: float,
) -> tuple[asyncpg.Record, int]:
    """Assign a visible, active, unassigned device to a case that is not released, from now or
    (administrators, with a reason) from ``body.valid_from``; returns the assignment and how
    many dead-lettered fixes were queued for replay."""
    if body.valid_from is not None:
        if principal.role is not Role.admin:
            raise ForbiddenError("only an administrator may set an assignment's start")
        if body.reason is None:
            raise BadRequestError("a reason is required to set an assignment's start")
    async with conn.transaction():
        case = await get_case(conn=conn, principal=principal, case_id=case_id, for_update=True)
        if case["status"] == "released":
            raise ConflictError(f"case {case_id} is released; it takes no devices")
        device = await conn.fetchrow(sql.LOCK_VISIBLE, body.device_id, *_scope(principal))
        if device is None:
            raise BadRequestError(f"no device {body.device_id} in your scope")
        if device["status"] != "active":
            raise ConflictError(f"device {body.device_id} is retired")
        current = await conn.fetchrow(assignments.SELECT_OPEN_FOR_DEVICE, body.device_id)
        if current is not None:
            raise ConflictError(
                f"device {body.device_id} is assigned to a case already; unassign it first"
            )
        if body.role == "defendant" and await conn.fetchrow(
            assignments.SELECT_OPEN_FOR_CASE, case_id, "defendant"
        ):
            raise ConflictError(f"case {case_id} has a defendant device; unassign it first")
        start = body.valid_from
        if start is not None:
            await _check_start(
                conn=conn, case_id=case_id, device_id=body.device_id, role=body.role,
                start=start, bounds=await _bounds(conn, case_id, backdate_max_s),
            )  # fmt: skip
        row: asyncpg.Record = await conn.fetchrow(
            assignments.INSERT_ASSIGNMENT, body.device_id, case_id, body.role, start
        )
        replay = 0
        if start is not None and body.reason is not None:
            replay = await _started(
                conn=conn, principal=principal, row=row, old_start=None, reason=body.reason
            )
        return row, replay


async def set_start(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    assignment_id: int,
    body: AssignmentStartIn,
    backdate_max_s: float,
) -> tuple[asyncpg.Record, int]:
    """Move an assignment's start earlier, to when the watch was really fitted (audited); returns
    the assignment and how many dead-lettered fixes were queued for replay."""
    async with conn.transaction():
        await get_case(conn=conn, principal=principal, case_id=case_id, for_update=True)
        current = await conn.fetchrow(assignments.LOCK_ASSIGNMENT, assignment_id, case_id)
        if current is None:
            raise NotFoundError(f"no assignment {assignment_id} in case {case_id}")
        if await conn.fetchrow(sql.LOCK_VISIBLE, current["device_id"], *_scope(principal)) is None:
            raise NotFoundError(f"no device {current['device_id']} in your scope")
        bounds = await _bounds(
            conn, case_id, backdate_max_s, current_start=current["valid_from"],
            valid_to=current["valid_to"],
        )  # fmt: skip
        await _check_start(
            conn=conn, case_id=case_id, device_id=current["device_id"], role=current["role"],
            start=body.valid_from, bounds=bounds, assignment_id=assignment_id,
        )  # fmt: skip
        row: asyncpg.Record = await conn.fetchrow(
            assignments.SET_START, assignment_id, body.valid_from
        )
        replay = await _started(
            conn=conn, principal=principal, row=row, old_start=current["valid_from"],
            reason=body.reason,
        )  # fmt: skip
        return row, replay


async def _bounds(
    conn: asyncpg.Connection,
    case_id: int,
    backdate_max_s: float,
    *,
    current_start: datetime | None = None,
    valid_to: datetime | None = None,
) -> StartBounds:
    case = await conn.fetchrow(assignments.SELECT_CASE_BOUNDS, case_id)
    return StartBounds(
        now=case["now"], max_back_s=backdate_max_s, measure_start=case["measure_start"],
        current_start=current_start, valid_to=valid_to,
    )  # fmt: skip


async def _check_start(
    *,
    conn: asyncpg.Connection,
    case_id: int,
    device_id: str,
    role: str,
    start: datetime,
    bounds: StartBounds,
    assignment_id: int | None = None,
) -> None:
    """Refuse a start out of bounds (400) or overlapping another assignment (409)."""
    refusal = start_refusal(start, bounds)
    if refusal is not None:
        raise BadRequestError(refusal, valid_from=start.isoformat())
    other = await conn.fetchrow(
        assignments.SELECT_OVERLAP, assignment_id, device_id, case_id, role, start,
        bounds.valid_to,
    )  # fmt: skip
    if other is not None:
        whose = f"device {device_id}" if other["device_id"] == device_id else f"case {case_id}"
        raise ConflictError(
            f"from {start.isoformat()} the window overlaps assignment {other['id']} of {whose} "
            f"({other['valid_from'].isoformat()} to "
            f"{other['valid_to'].isoformat() if other['valid_to'] else 'open'})",
            overlapping_assignment_id=other["id"],
        )


async def _started(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    row: asyncpg.Record,
    old_start: datetime | None,
    reason: str,
) -> int:
    """Queue the replay of the window's unassigned dead letters and audit the decision."""
    ids = await conn.fetch(
        dead_letters.REQUEST_REPLAY, row["device_id"], row["valid_from"], row["valid_to"]
    )
    detail = {
        "assignment_id": row["id"], "device_id": row["device_id"], "role": row["role"],
        "old_valid_from": old_start.isoformat() if old_start else None,
        "new_valid_from": row["valid_from"].isoformat(), "replay_requested": len(ids),
    }  # fmt: skip
    await conn.execute(
        audit.INSERT_ACCESS, principal.name, principal.user_id, row["case_id"],
        "assignment.start", row["valid_from"], old_start, reason.strip(), detail,
    )  # fmt: skip
    return len(ids)


async def unassign(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, device_id: str
) -> asyncpg.Record:
    """End the open assignment of ``device_id`` to the case (404 if there is none)."""
    async with conn.transaction():
        await get_case(conn=conn, principal=principal, case_id=case_id, for_update=True)
        row: asyncpg.Record | None = await conn.fetchrow(
            assignments.END_ASSIGNMENT, case_id, device_id
        )
        if row is None:
            raise NotFoundError(f"device {device_id} is not assigned to case {case_id}")
        return row
