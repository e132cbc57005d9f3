"""SQL of the demo seed (``python -m sim.seed``): idempotent upserts on natural keys.

Natural keys: unit ``code``, user ``username``, case ``case_number`` (its person is the case's
person), device ``id``, zone (owning unit, ``name``), rule (case, ``params->>'name'``), open
assignment (device, case). Tables without a unique constraint on the key (zones, case_rules,
persons) are upserted as "update, else insert" in one statement; the seed holds an advisory lock
so two seeds do not race. Parameters are ``$n`` (asyncpg); jsonb parameters take Python objects.
"""

from __future__ import annotations

#: Serialises concurrent seeds (transaction-scoped).
LOCK = "SELECT pg_advisory_xact_lock(hashtext('bailwatch.seed'))"

#: $1 code, $2 name, $3 kind, $4 parent code (or NULL).
UPSERT_UNIT = """
INSERT INTO units (code, name, kind, parent_id)
VALUES ($1, $2, $3, (SELECT id FROM units WHERE code = $4))
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id
"""

#: $1 username.
SELECT_PASSWORD_HASH = "SELECT password_hash FROM users WHERE username = $1"

#: $1 username, $2 display name, $3 role, $4 unit code, $5 password hash.
UPSERT_USER = """
INSERT INTO users (username, display_name, role, unit_id, password_hash)
VALUES ($1, $2, $3, (SELECT id FROM units WHERE code = $4), $5)
ON CONFLICT (username) DO UPDATE
   SET display_name = EXCLUDED.display_name, role = EXCLUDED.role,
       unit_id = EXCLUDED.unit_id, password_hash = EXCLUDED.password_hash, active = true
"""

#: The case and its person. $1 case number, $2 full name, $3 birth date, $4 phone, $5 address,
#: $6 measure, $7 supervising unit code, $8 procuratorate unit code, $9 prosecutor username,
#: $10 period start, $11 period end, $12 time zone, $13 conditions (jsonb).
UPSERT_CASE = """
WITH existing AS (
    SELECT person_id FROM cases WHERE case_number = $1
), updated_person AS (
    UPDATE persons p SET full_name = $2, birth_date = $3, phone = NULLIF($4, ''), address = $5
      FROM existing e WHERE p.id = e.person_id
    RETURNING p.id
), new_person AS (
    INSERT INTO persons (full_name, birth_date, phone, address)
    SELECT $2, $3, NULLIF($4, ''), $5 WHERE NOT EXISTS (SELECT 1 FROM existing)
    RETURNING id
), person AS (
    SELECT id FROM updated_person UNION ALL SELECT id FROM new_person
)
INSERT INTO cases (case_number, person_id, measure, status, period_start, period_end,
                   supervising_unit_id, procuratorate_unit_id, prosecutor_user_id, timezone,
                   conditions)
SELECT $1, person.id, $6, 'active', $10, $11,
       (SELECT id FROM units WHERE code = $7), (SELECT id FROM units WHERE code = $8),
       (SELECT id FROM users WHERE username = $9), $12, $13
  FROM person
ON CONFLICT (case_number) DO UPDATE
   SET measure = EXCLUDED.measure, period_start = EXCLUDED.period_start,
       period_end = EXCLUDED.period_end, supervising_unit_id = EXCLUDED.supervising_unit_id,
       procuratorate_unit_id = EXCLUDED.procuratorate_unit_id,
       prosecutor_user_id = EXCLUDED.prosecutor_user_id, timezone = EXCLUDED.timezone,
       conditions = EXCLUDED.conditions
"""

#: $1 unit code, $2 name, $3 kind, $4 geometry (GeoJSON, WGS84), $5 radius_m, $6 source datum,
#: $7 source (jsonb), $8 properties (jsonb).
UPSERT_ZONE = """
WITH unit AS (
    SELECT id FROM units WHERE code = $1
), updated AS (
    UPDATE zones z SET kind = $3, geometry = $4, radius_m = $5, source_datum = $6, source = $7,
                       properties = $8
      FROM unit WHERE z.unit_id = unit.id AND z.name = $2
    RETURNING z.id
)
INSERT INTO zones (unit_id, name, kind, geometry, radius_m, source_datum, source, properties)
SELECT unit.id, $2, $3, $4, $5, $6, $7, $8 FROM unit WHERE NOT EXISTS (SELECT 1 FROM updated)
"""

#: $1 case number, $2 rule name, $3 kind, $4 zone unit code, $5 zone name, $6 grace (jsonb),
#: $7 schedule (jsonb or NULL), $8 params (jsonb, includes the name), $9 severity.
UPSERT_RULE = """
WITH c AS (
    SELECT id FROM cases WHERE case_number = $1
), zone AS (
    SELECT z.id FROM zones z JOIN units u ON u.id = z.unit_id
     WHERE u.code = $4 AND z.name = $5 ORDER BY z.id LIMIT 1
), updated AS (
    UPDATE case_rules r SET kind = $3, zone_id = (SELECT id FROM zone), grace = $6,
                            schedule = $7, params = $8, severity = $9, active = true
      FROM c WHERE r.case_id = c.id AND r.params->>'name' = $2
    RETURNING r.id
)
INSERT INTO case_rules (case_id, kind, zone_id, grace, schedule, params, severity)
SELECT c.id, $3, (SELECT id FROM zone), $6, $7, $8, $9 FROM c
 WHERE NOT EXISTS (SELECT 1 FROM updated)
"""

#: $1 device id, $2 model, $3 firmware. MQTT credential columns belong to provisioning.
UPSERT_DEVICE = """
INSERT INTO devices (id, model, firmware, status)
VALUES ($1, $2, $3, 'active')
ON CONFLICT (id) DO UPDATE SET model = EXCLUDED.model, firmware = EXCLUDED.firmware,
                               status = 'active'
"""

#: Close open assignments that contradict "device $1 reports for case $2 as defendant": the
#: device's assignment to another case, and another device's defendant assignment to this case.
#: $3 seed time.
CLOSE_STALE_ASSIGNMENTS = """
UPDATE device_assignments a
   SET valid_to = GREATEST($3::timestamptz, a.valid_from + interval '1 millisecond')
  FROM cases c
 WHERE c.case_number = $2 AND a.valid_to IS NULL
   AND ((a.device_id = $1 AND (a.case_id <> c.id OR a.role <> 'defendant'))
        OR (a.case_id = c.id AND a.role = 'defendant' AND a.device_id <> $1))
"""

#: Open the assignment (device $1, case $2) from $3 unless it is already open.
INSERT_ASSIGNMENT = """
INSERT INTO device_assignments (device_id, case_id, role, valid_from)
SELECT $1, c.id, 'defendant', $3 FROM cases c
 WHERE c.case_number = $2
   AND NOT EXISTS (SELECT 1 FROM device_assignments a
                    WHERE a.device_id = $1 AND a.case_id = c.id AND a.valid_to IS NULL)
"""

#: Tables the seed writes, for its summary and the tests.
SEEDED_TABLES = (
    "units", "users", "persons", "cases", "devices", "device_assignments", "zones", "case_rules",
)  # fmt: skip

#: Row count of each seeded table (names from ``SEEDED_TABLES`` only).
COUNT_ROWS = " UNION ALL ".join(
    f"SELECT '{t}' AS table_name, count(*) AS n FROM {t}" for t in SEEDED_TABLES
)
