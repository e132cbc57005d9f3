"""Per-device MQTT credentials of the simulated watches.

The seed (wired later) provisions each watch on the broker and writes the one-time credentials to
``{run_dir}/demo/device-credentials.json``::

    {"dw-0001": {"username": "dw-0001", "password": "..."}, ...}

The simulator connects each watch with its own entry when the file exists, and otherwise with the
simulator's own settings (``BW_MQTT__USERNAME``/``BW_MQTT__PASSWORD``) or anonymously.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from config.settings import MqttSettings, Settings


@dataclass(frozen=True)
class Credential:
    """An MQTT login; ``username`` None means anonymous."""

    username: str | None
    password: str | None = None


def credentials_path(settings: Settings) -> Path:
    """Where the demo's device credentials live: ``{run_dir}/demo/device-credentials.json``."""
    return Path(settings.run_dir) / "demo" / "device-credentials.json"


def write_device_credentials(path: Path, creds: dict[str, tuple[str, str]]) -> None:
    """Write ``{device_id: (username, password)}`` as the credentials file, atomically, mode 0600.

    The parent directory is created. Readers see the old file or the new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {dev: {"username": user, "password": pw} for dev, (user, pw) in sorted(creds.items())}
    fd, tmp = tempfile.mkstemp(prefix=".device-credentials-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_device_credentials(path: Path) -> dict[str, Credential] | None:
    """The credentials file as ``{device_id: Credential}``, or None when it does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return {
        str(dev): Credential(str(entry["username"]), str(entry["password"]))
        for dev, entry in data.items()
    }


def fallback_credential(mqtt: MqttSettings) -> Credential:
    """The simulator's own login from settings (anonymous when no username is set)."""
    pw = mqtt.password.get_secret_value() if mqtt.password is not None else None
    return Credential(mqtt.username, pw)


def credential_for(
    device_id: str, per_device: dict[str, Credential] | None, fallback: Credential
) -> Credential:
    """A watch's own credential when the file lists it, else the fallback."""
    if per_device is not None and device_id in per_device:
        return per_device[device_id]
    return fallback
