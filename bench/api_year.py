"""The 12-month case of ``bench.api``: a year of fixes at one a minute (525,600), 40 alerts with
their evidence (a walk into the victim's exclusion zone each), 6 approved leave permits, a bail
deposit. Seeded in bulk (COPY for the fixes) into the bench's own database: a benchmark of the
reads, not of the ingester."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

#: A year of fixes at one a minute.
FIXES = 365 * 24 * 60
ALERTS = 40
PERMITS = 6
#: Fixes of each alert's episode, inside the victim's zone.
EPISODE_FIXES = 5
START = datetime(2025, 10, 1, tzinfo=UTC)
END = START + timedelta(minutes=FIXES)
LON, LAT = 118.50, 37.45
#: The victim's home, 1.5 km east of the start: a 300 m exclusion circle.
VICTIM = (118.517, 37.45)


def _square(half: float) -> dict[str, object]:
    ring = [
        [LON - half, LAT - half],
        [LON + half, LAT - half],
        [LON + half, LAT + half],
        [LON - half, LAT + half],
        [LON - half, LAT - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def seed(conn: psycopg.Connection, unit: int) -> int:
    """The case (with its zones, rules, device, fixes, alerts, permits, deposit); its id."""

    def one(sql: str, *params: object) -> int:
        row = conn.execute(sql, params).fetchone()
        assert row is not None
        return int(row[0])

    person = one("INSERT INTO persons (full_name) VALUES ('张某某') RETURNING id")
    case = one(
        "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id) "
        "VALUES ('BENCH-12M', %s, 'bail', 'active', %s) RETURNING id",
        person, unit,
    )  # fmt: skip
    city = one(
        "INSERT INTO zones (unit_id, name, kind, geometry) VALUES (%s, '东营区', 'polygon', %s) "
        "RETURNING id",
        unit, Jsonb(_square(0.3)),
    )  # fmt: skip
    victim = one(
        "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) VALUES (%s, '被害人住所', "
        "'circle', %s, 300) RETURNING id",
        unit, Jsonb({"type": "Point", "coordinates": list(VICTIM)}),
    )  # fmt: skip
    one(
        "INSERT INTO case_rules (case_id, kind, zone_id) VALUES (%s, 'stay_inside', %s) "
        "RETURNING id",
        case, city,
    )  # fmt: skip
    rule = one(
        "INSERT INTO case_rules (case_id, kind, zone_id) VALUES (%s, 'stay_outside', %s) "
        "RETURNING id",
        case, victim,
    )  # fmt: skip
    conn.execute("INSERT INTO devices (id) VALUES ('BW-Y')")
    conn.execute(
        "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES ('BW-Y', %s, %s)",
        (case, START - timedelta(days=1)),
    )
    rng = np.random.default_rng(12)
    lon = LON + np.cumsum(rng.normal(0, 2e-5, FIXES))
    lat = LAT + np.cumsum(rng.normal(0, 2e-5, FIXES))
    starts = np.linspace(1000, FIXES - 1000, ALERTS).astype(np.int64)
    for s in starts:
        lon[s : s + EPISODE_FIXES], lat[s : s + EPISODE_FIXES] = VICTIM
    conn.execute("SELECT bw_ensure_ping_partitions(%s, %s)", (START.date(), END.date()))
    with conn.cursor().copy(
        "COPY pings (device_id, fix_time, seq, case_id, received_at, lon, lat, acc, src) FROM STDIN"
    ) as copy:
        for i in range(FIXES):
            t = START + timedelta(minutes=i)
            copy.write_row(("BW-Y", t, i, case, t, float(lon[i]), float(lat[i]), 10.0, "gnss"))
    for n, s in enumerate(starts):
        at = [START + timedelta(minutes=int(s) + k) for k in range(EPISODE_FIXES)]
        evidence = [
            {"device_id": "BW-Y", "fix_time": t.isoformat(), "seq": int(s) + k}
            for k, t in enumerate(at)
        ]
        resolved = n % 4 != 3
        conn.execute(
            "INSERT INTO alerts (case_id, rule_id, device_id, unit_id, kind, severity, "
            "episode_key, started_at, opened_at, cleared_at, status, resolved_at, disposition, "
            "resolution_note, evidence) VALUES (%s, %s, 'BW-Y', %s, 'entered_exclusion_zone', "
            "'critical', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                case, rule, unit, f"bench-{n}", at[0], at[0], at[-1] + timedelta(minutes=1),
                "resolved" if resolved else "open", at[-1] if resolved else None,
                "violation_confirmed" if resolved else None, "现场核实" if resolved else None,
                Jsonb(evidence),
            ),
        )  # fmt: skip
    for k in range(PERMITS):
        begin = START + timedelta(days=20 + 55 * k, hours=1)
        conn.execute(
            "INSERT INTO leave_permits (case_id, status, reason, window_start, window_end) "
            "VALUES (%s, 'approved', '就医复查', %s, %s)",
            (case, begin, begin + timedelta(hours=8)),
        )
    conn.execute(
        "INSERT INTO deposits (case_id, kind, status, amount_fen, held_fen, payer, "
        "account_number, account_holder) VALUES (%s, 'bail', 'held', 1000000, 1000000, '张某某', "
        "'6222000011112222', '东营分局保证金专户')",
        (case,),
    )
    return case
