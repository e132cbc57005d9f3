"""SQL for ``devices`` and ``device_assignments``: the ingester's device directory, provisioning."""

from __future__ import annotations

#: Devices with their assignments (epoch seconds; ``valid_to`` NULL = open), for ids in $1.
SELECT_DIRECTORY = """
SELECT d.id, d.status,
       coalesce(array_agg(a.case_id ORDER BY a.valid_from)
                FILTER (WHERE a.id IS NOT NULL), '{}') AS case_ids,
       coalesce(array_agg(extract(epoch FROM a.valid_from)::float8 ORDER BY a.valid_from)
                FILTER (WHERE a.id IS NOT NULL), '{}') AS froms,
       coalesce(array_agg(extract(epoch FROM a.valid_to)::float8 ORDER BY a.valid_from)
                FILTER (WHERE a.id IS NOT NULL), '{}') AS tos
FROM devices d
LEFT JOIN device_assignments a ON a.device_id = d.id
WHERE d.id = ANY($1::text[])
GROUP BY d.id, d.status
"""

#: The same for every active device (directory warm-up at start).
SELECT_DIRECTORY_ALL = SELECT_DIRECTORY.replace(
    "WHERE d.id = ANY($1::text[])", "WHERE d.status = 'active'"
)

#: Create a device row if it does not exist ($1 id).
INSERT_DEVICE = "INSERT INTO devices (id) VALUES ($1) ON CONFLICT (id) DO NOTHING"

#: The device's MQTT username and whether credentials were issued.
SELECT_CREDENTIALS = "SELECT mqtt_username, mqtt_password_hash FROM devices WHERE id = $1"

#: Record issued credentials ($1 id, $2 username, $3 password hash).
UPDATE_CREDENTIALS = """
UPDATE devices SET mqtt_username = $2, mqtt_password_hash = $3, provisioned_at = now()
WHERE id = $1
"""
