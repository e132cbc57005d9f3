"""Provision devices: broker credentials and ACLs, password hash recorded in ``devices``.

    python -m broker.provision DEVICE_ID [DEVICE_ID ...] [--rotate]

prints one ``device_id username password`` line per device; the password is shown only here.
Settings from the environment (``BW_MQTT__ADMIN_USERNAME`` / ``BW_MQTT__ADMIN_PASSWORD``, which
``deploy/services.sh`` writes to ``$BW_RUN_DIR/mqtt-credentials.env``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from broker.dynsec import DeviceCredentials, DynsecAdmin, DynsecError, hash_password, new_password
from config.settings import MqttSettings, Settings
from store import devices as sql


class AlreadyProvisionedError(DynsecError):
    """The device already has credentials; pass ``rotate=True`` to issue new ones."""


def admin_for(mqtt: MqttSettings) -> DynsecAdmin:
    """A dynsec admin connection (not yet open) from the MQTT settings."""
    if not mqtt.admin_username or mqtt.admin_password is None:
        raise DynsecError("BW_MQTT__ADMIN_USERNAME / BW_MQTT__ADMIN_PASSWORD are not set")
    return DynsecAdmin(
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.admin_username,
        password=mqtt.admin_password.get_secret_value(),
    )


async def provision_device(
    device_id: str, *, conn: asyncpg.Connection, admin: DynsecAdmin, rotate: bool = False
) -> DeviceCredentials:
    """Issue a device's MQTT credentials once: creates the ``devices`` row if missing, the broker
    client with its own ACLs, and stores the password hash. Returns the one-time password.

    Raises :class:`AlreadyProvisionedError` if credentials were issued before and not ``rotate``.
    """
    await conn.execute(sql.INSERT_DEVICE, device_id)
    row = await conn.fetchrow(sql.SELECT_CREDENTIALS, device_id)
    if row is not None and row["mqtt_password_hash"] and not rotate:
        raise AlreadyProvisionedError(f"device {device_id} already has MQTT credentials")
    password = new_password()
    await asyncio.to_thread(admin.create_device_client, device_id, password)
    await conn.execute(sql.UPDATE_CREDENTIALS, device_id, device_id, hash_password(password))
    return DeviceCredentials(device_id=device_id, username=device_id, password=password)


async def _main(device_ids: list[str], rotate: bool) -> int:
    settings = Settings()
    conn = await asyncpg.connect(settings.db.dsn())
    try:
        with admin_for(settings.mqtt) as admin:
            for device_id in device_ids:
                creds = await provision_device(device_id, conn=conn, admin=admin, rotate=rotate)
                print(creds.device_id, creds.username, creds.password)
    finally:
        await conn.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("device_ids", nargs="+")
    parser.add_argument("--rotate", action="store_true", help="issue new credentials")
    args = parser.parse_args(argv)
    try:
        sys.exit(asyncio.run(_main(args.device_ids, args.rotate)))
    except DynsecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
