"""Devices: provisioning (row + broker credentials in one transaction), reads, assignments.

The broker is asked through ``broker.provision``; if it is unreachable nothing is stored (503).
A device reports for at most one case at a time (an open assignment); a case has at most one
open defendant device. Unassigning ends the assignment and keeps it as history.
"""

from __future__ import annotations

import asyncio

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible as get_case
from api.cases.service import may_manage_unit
from api.devices.models import AssignmentIn, MqttCredentials
from api.errors import BadRequestError, ConflictError, NotFoundError, UnavailableError
from broker.dynsec import DeviceCredentials, DynsecError
from broker.provision import AlreadyProvisionedError, admin_for, provision_device
from config.settings import MqttSettings
from store import assignments
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
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, body: AssignmentIn
) -> asyncpg.Record:
    """Assign a visible, active, unassigned device to a case that is not released."""
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
        row: asyncpg.Record = await conn.fetchrow(
            assignments.INSERT_ASSIGNMENT, body.device_id, case_id, body.role
        )
        return row


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
