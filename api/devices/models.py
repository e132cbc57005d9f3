"""Schemas of the devices domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

#: A device id is the id in its MQTT topics (bw/v1/dev/{id}/...).
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"

AssignmentRole = Literal["defendant", "protected_person"]


class DeviceIn(BaseModel):
    """A watch to register and provision."""

    id: str = Field(pattern=DEVICE_ID_PATTERN, description="id used in its MQTT topics")
    unit_id: int | None = Field(
        default=None, ge=1, le=2**62, description="unit holding it in stock (default: yours)"
    )
    imei: str | None = Field(default=None, pattern=r"^[0-9]{14,16}$")
    model: str | None = Field(default=None, min_length=1, max_length=100)


class DeviceOut(BaseModel):
    id: str
    unit_id: int | None
    imei: str | None
    model: str | None
    firmware: str | None
    mqtt_username: str | None
    status: Literal["active", "retired"]
    provisioned_at: datetime | None
    created_at: datetime
    assigned_case_id: int | None = Field(description="the case it reports for now, if any")
    assigned_role: AssignmentRole | None


class MqttCredentials(BaseModel):
    """The device's MQTT login. The password is shown in this response only; the server keeps a
    hash. Lost? Rotate (which invalidates the old one)."""

    host: str
    port: int
    username: str
    password: str
    publish_prefix: str = Field(description="topics the device may publish under")
    command_topic: str = Field(description="the topic it receives commands on")


class ProvisionedDevice(BaseModel):
    device: DeviceOut
    credentials: MqttCredentials


class AssignmentIn(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    role: AssignmentRole = Field(
        default="defendant",
        description="defendant (the case's watch) or protected_person (keep_away_from)",
    )
    valid_from: AwareDatetime | None = Field(
        default=None,
        description="administrators only: when the watch was really fitted (default: now), "
        "within the configured bound (24 h by default) and not before the measure began; "
        "its fixes dead-lettered as unassigned since then are replayed into the case",
    )
    reason: str | None = Field(
        default=None, min_length=3, max_length=2000, pattern=r"\S",
        description="required with valid_from; audited",
    )  # fmt: skip


class AssignmentStartIn(BaseModel):
    """A correction of an assignment's start to the moment the watch was really fitted."""

    valid_from: AwareDatetime = Field(description="the real start; earlier than the current one")
    reason: str = Field(min_length=3, max_length=2000, pattern=r"\S", description="audited")


class AssignmentOut(BaseModel):
    id: int
    device_id: str
    case_id: int
    role: AssignmentRole
    valid_from: datetime
    valid_to: datetime | None = Field(description="null while the assignment is open")


class AssignmentChangeOut(AssignmentOut):
    replay_requested: int = Field(
        default=0,
        description="fixes of the device dead-lettered as unassigned inside the assignment's "
        "window, now queued to be stored and judged (as late fixes) by the ingester",
    )
