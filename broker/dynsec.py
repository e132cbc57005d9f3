"""Device credentials and ACLs through Mosquitto's dynamic-security plugin.

The service roles (``ingester``, ``simulator``) and group ``devices`` are created by
``deploy/services.sh`` (production: the same commands at deploy time). A provisioned device is a
dynsec client whose username is the device id, in group ``devices``, with its own role
``device:{id}``: Mosquitto 2.0's dynsec has no ``%u``/``%c`` substitution in ACLs, so each role
holds literal topics. It may publish only ``bw/v1/dev/{id}/loc|status|event`` and under
``owntracks/{id}/``, and subscribe to and receive only ``bw/v1/dev/{id}/cmd`` (and its own
OwnTracks subtree, where the app reads its commands). Default access (dynsec ``init``) denies
publishing and subscribing to anything not granted.

Commands go as JSON to ``$CONTROL/dynamic-security/v1``; the answer comes on ``.../response`` and is
matched by ``correlationData``. Passwords are generated here, sent to the broker once (it stores
its own PBKDF2 hash), hashed for ``devices.mqtt_password_hash`` and returned once to the caller.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"
DEVICE_GROUP = "devices"

#: scrypt cost parameters for stored device password hashes (n=2**14, r=8, p=1: ~16 MiB, ~50 ms).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class DynsecError(RuntimeError):
    """The broker refused a dynamic-security command, or did not answer in time."""


@dataclass(frozen=True)
class DeviceCredentials:
    """MQTT credentials of one device; the password is shown once and never stored in clear."""

    device_id: str
    username: str
    password: str


def hash_password(password: str) -> str:
    """A self-describing scrypt hash: ``scrypt$n$r$p$salt_hex$hash_hex``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return secrets.compare_digest(got.hex(), digest)


def new_password() -> str:
    """A random device password (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def device_role(device_id: str) -> str:
    """The dynsec role that holds one device's ACLs."""
    return f"device:{device_id}"


def device_acls(device_id: str) -> list[dict[str, Any]]:
    """Literal ACLs of one device: its own uplink topics, its own command topic."""
    base = f"bw/v1/dev/{device_id}"
    own = [
        ("publishClientSend", f"{base}/loc"),
        ("publishClientSend", f"{base}/status"),
        ("publishClientSend", f"{base}/event"),
        ("publishClientSend", f"owntracks/{device_id}/#"),
        ("subscribePattern", f"{base}/cmd"),
        ("publishClientReceive", f"{base}/cmd"),
        ("subscribePattern", f"owntracks/{device_id}/#"),
        ("publishClientReceive", f"owntracks/{device_id}/#"),
    ]
    return [{"acltype": kind, "topic": topic, "allow": True} for kind, topic in own]


class DynsecAdmin:
    """A blocking admin connection to the broker; use as a context manager.

    ``command`` sends one dynsec command and waits for its response; thread-safe.
    """

    def __init__(
        self, *, host: str, port: int, username: str, password: str, timeout_s: float = 10.0
    ) -> None:
        self.timeout_s = timeout_s
        self._pending: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bw-dynsec-{uuid.uuid4().hex[:10]}",
            protocol=paho.MQTTv5,
        )
        self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *a: self._ready.set()
        self._client.on_message = self._on_message
        self._host, self._port = host, port

    def __enter__(self) -> Self:
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        if not self._ready.wait(self.timeout_s):
            self._client.loop_stop()
            raise DynsecError("no dynsec admin session (broker down or admin refused)")
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: paho.Client, ud: Any, flags: Any, rc: Any, props: Any) -> None:
        if not rc.is_failure:
            client.subscribe(RESPONSE_TOPIC, qos=1)

    def _on_message(self, client: paho.Client, ud: Any, msg: paho.MQTTMessage) -> None:
        try:
            responses = json.loads(msg.payload)["responses"]
        except (ValueError, KeyError, TypeError):
            return
        for response in responses:
            key = response.get("correlationData")
            with self._lock:
                waiter = self._pending.pop(key, None) if key else None
            if waiter is not None:
                waiter[1].append(response)
                waiter[0].set()

    def command(self, name: str, **fields: Any) -> dict[str, Any]:
        """Run one command; returns the response, raises :class:`DynsecError` on ``error``."""
        key = uuid.uuid4().hex
        done = threading.Event()
        box: list[dict[str, Any]] = []
        with self._lock:
            self._pending[key] = (done, box)
        body = {"commands": [{"command": name, "correlationData": key, **fields}]}
        self._client.publish(CONTROL_TOPIC, json.dumps(body), qos=1)
        if not done.wait(self.timeout_s):
            with self._lock:
                self._pending.pop(key, None)
            raise DynsecError(f"dynsec {name}: no response within {self.timeout_s}s")
        response = box[0]
        if response.get("error"):
            raise DynsecError(f"dynsec {name}: {response['error']}")
        return response

    def client_exists(self, username: str) -> bool:
        try:
            self.command("getClient", username=username)
        except DynsecError as exc:
            if "not found" in str(exc).lower():
                return False
            raise
        return True

    def create_device_client(self, device_id: str, password: str) -> None:
        """Create (or re-key) the broker client of a device, with its own role and ACLs."""
        if self.client_exists(device_id):
            self.command("setClientPassword", username=device_id, password=password)
            return
        role = device_role(device_id)
        try:
            self.command("createRole", rolename=role, acls=device_acls(device_id))
        except DynsecError as exc:
            if "already exists" not in str(exc).lower():
                raise
        self.command(
            "createClient",
            username=device_id,
            password=password,
            roles=[{"rolename": role}],
            groups=[{"groupname": DEVICE_GROUP}],
        )

    def disable_device_client(self, device_id: str) -> None:
        """Refuse further connections of a retired device (its client is kept for the record)."""
        self.command("disableClient", username=device_id)
