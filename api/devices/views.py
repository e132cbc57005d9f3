"""Routes of the devices domain: administrators provision; police, supervisors and
administrators see their units' devices and assign them to cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth.models import CASE_READERS, Principal, Role
from api.cases.service import get_visible as get_case
from api.deps import PoolDep, SettingsDep, require
from api.devices import service
from api.devices.models import (
    DEVICE_ID_PATTERN,
    AssignmentChangeOut,
    AssignmentIn,
    AssignmentOut,
    AssignmentStartIn,
    DeviceIn,
    DeviceOut,
    ProvisionedDevice,
)
from api.errors import PROBLEM_RESPONSES, Responses
from api.pagination import CursorQuery, LimitQuery, Page, decode_text, text_page
from api.params import CaseId
from store import assignments
from store import device_registry as sql

router = APIRouter(tags=["devices"], responses=PROBLEM_RESPONSES)

Admin = Annotated[Principal, Depends(require({Role.admin}))]
Keeper = Annotated[Principal, Depends(require({Role.admin, Role.supervisor, Role.police}))]
Reader = Annotated[Principal, Depends(require(CASE_READERS))]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="device id")]
_ONCE = {"Cache-Control": "no-store"}
_CONFLICT: Responses = {409: {"description": "exists already, assigned already, or released case"}}
_BROKER: Responses = {
    503: {"description": "the MQTT broker could not be reached; nothing was stored"}
}


def _out(row: Any) -> DeviceOut:
    return DeviceOut.model_validate(dict(row))


@router.post(
    "/devices", status_code=201, summary="Register a watch and issue its MQTT credentials",
    description="The password is in this response only (never stored in clear, never shown "
    "again); rotate to issue a new one.", responses={**_CONFLICT, **_BROKER},
)  # fmt: skip
async def provision(
    body: DeviceIn, pool: PoolDep, settings: SettingsDep, principal: Admin, response: Response
) -> ProvisionedDevice:
    async with pool.acquire() as conn:
        row, creds = await service.provision(
            conn=conn, principal=principal, mqtt=settings.mqtt, device_id=body.id,
            unit_id=body.unit_id or principal.unit_id, imei=body.imei, model=body.model,
        )  # fmt: skip
    response.headers.update(_ONCE)
    return ProvisionedDevice(
        device=_out(row), credentials=service.credentials_out(settings.mqtt, creds)
    )


@router.post(
    "/devices/{device_id}/credentials/rotate", summary="Issue new MQTT credentials",
    description="The old password stops working; the new one is shown once.", responses=_BROKER,
)  # fmt: skip
async def rotate(
    device_id: DeviceId, pool: PoolDep, settings: SettingsDep, principal: Admin, response: Response
) -> ProvisionedDevice:
    async with pool.acquire() as conn:
        row, creds = await service.rotate(
            conn=conn, principal=principal, mqtt=settings.mqtt, device_id=device_id
        )
    response.headers.update(_ONCE)
    return ProvisionedDevice(
        device=_out(row), credentials=service.credentials_out(settings.mqtt, creds)
    )


@router.get("/devices", summary="Devices held by the caller's unit(s), by id descending")
async def list_devices(
    pool: PoolDep,
    principal: Keeper,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    status: Annotated[Literal["active", "retired"] | None, Query()] = None,
    assigned: Annotated[bool | None, Query(description="only (un)assigned devices")] = None,
) -> Page[DeviceOut]:
    rows = await pool.fetch(
        sql.LIST_VISIBLE, principal.role.value, principal.unit_id, decode_text(cursor),
        limit + 1, status, assigned,
    )  # fmt: skip
    return text_page(rows, limit, _out)


@router.get("/devices/{device_id}", summary="One device")
async def get_device(device_id: DeviceId, pool: PoolDep, principal: Keeper) -> DeviceOut:
    async with pool.acquire() as conn:
        return _out(await service.get_visible(conn=conn, principal=principal, device_id=device_id))


@router.get("/cases/{case_id}/devices", summary="The case's device assignments, newest first")
async def list_assignments(
    case_id: CaseId, pool: PoolDep, principal: Reader
) -> list[AssignmentOut]:
    async with pool.acquire() as conn:
        await get_case(conn=conn, principal=principal, case_id=case_id)
        rows = await conn.fetch(assignments.LIST_FOR_CASE, case_id)
    return [AssignmentOut.model_validate(dict(r)) for r in rows]


def _change(row: Any, replay: int) -> AssignmentChangeOut:
    return AssignmentChangeOut.model_validate({**dict(row), "replay_requested": replay})


@router.post(
    "/cases/{case_id}/devices", status_code=201, responses=_CONFLICT,
    summary="Assign a device to the case (from now, or from when it was fitted); refused if "
    "it is assigned elsewhere",
    description="Only an administrator may give `valid_from` (with a `reason`, audited): it "
    "must lie within the configured bound (24 h by default), not before the measure began and "
    "not overlap another assignment of the device or of the case. The device's fixes "
    "dead-lettered as unassigned since then are stored and judged by the ingester.",
)  # fmt: skip
async def assign(
    case_id: CaseId, body: AssignmentIn, pool: PoolDep, settings: SettingsDep, principal: Keeper
) -> AssignmentChangeOut:
    async with pool.acquire() as conn:
        row, replay = await service.assign(
            conn=conn, principal=principal, case_id=case_id, body=body,
            backdate_max_s=settings.api.assignment_backdate_max_s,
        )  # fmt: skip
    return _change(row, replay)


@router.post(
    "/cases/{case_id}/assignments/{assignment_id}/start", responses=_CONFLICT,
    summary="Set an assignment's start back to when the watch was really fitted",
    description="Administrators, with a reason (audited with the old and new start). The new "
    "start is earlier than the current one, within the configured bound (24 h by default), not "
    "before the measure began and overlaps no other assignment of the device or of the case. "
    "The device's fixes dead-lettered as unassigned inside the assignment's window are then "
    "stored and judged by the ingester as late fixes (`replay_requested` says how many).",
)  # fmt: skip
async def set_start(
    case_id: CaseId,
    assignment_id: Annotated[int, Path(ge=1, le=2**62)],
    body: AssignmentStartIn,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Admin,
) -> AssignmentChangeOut:
    async with pool.acquire() as conn:
        row, replay = await service.set_start(
            conn=conn, principal=principal, case_id=case_id, assignment_id=assignment_id,
            body=body, backdate_max_s=settings.api.assignment_backdate_max_s,
        )  # fmt: skip
    return _change(row, replay)


@router.post(
    "/cases/{case_id}/devices/{device_id}/unassign",
    summary="End the device's assignment to the case (now); the history is kept",
)
async def unassign(
    case_id: CaseId, device_id: DeviceId, pool: PoolDep, principal: Keeper
) -> AssignmentOut:
    async with pool.acquire() as conn:
        row = await service.unassign(
            conn=conn, principal=principal, case_id=case_id, device_id=device_id
        )
    return AssignmentOut.model_validate(dict(row))
