"""Compliance code on hand-made cases, the printable report, and deposits over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration
Headers = Callable[[str], dict[str, str]]
Q = "from=2026-11-05T00:00:00Z&to=2026-11-05T02:00:00Z&purpose=custody+necessity+review"


def _case(
    settings: Settings,
    w: world.World,
    number: str,
    device: str,
    fixes: list[tuple[float, float, float]],
) -> int:
    """A case of station P1 with the city (stay inside) and victim (stay outside) rules and one
    fix a minute from 2026-11-05 00:00 UTC at the given (lon, lat, acc)."""
    start = world.T0 + timedelta(days=4)
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        person = conn.execute(
            "INSERT INTO persons (full_name) VALUES (%s) RETURNING id", (number,)
        ).fetchone()
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id, "
            "procuratorate_unit_id) VALUES (%s, %s, 'bail', 'active', %s, %s) RETURNING id",
            (number, person[0], w.units["P1"], w.units["PROC"]),  # type: ignore[index]
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id) VALUES (%s, 'stay_inside', %s),"
            " (%s, 'stay_outside', %s)",
            (case, w.zone_city, case, w.zone_victim),
        )
        conn.execute("INSERT INTO devices (id) VALUES (%s)", (device,))
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES (%s, %s, %s)",
            (device, case, start - timedelta(days=1)),
        )
    world.insert_fixes(
        settings,
        device,
        case,
        [(start + timedelta(minutes=i), lo, la, acc) for i, (lo, la, acc) in enumerate(fixes)],
    )
    return int(case)


def _alert(
    settings: Settings, w: world.World, case: int, kind: str, status: str, disposition: str | None
) -> None:
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO alerts (case_id, unit_id, kind, severity, episode_key, started_at, status,"
            " disposition, evidence) VALUES (%s, %s, %s, 'high', %s, %s, %s, %s, %s)",
            (
                case,
                w.units["P1"],
                kind,
                f"{case}-{kind}",
                world.T0 + timedelta(days=4, minutes=30),
                status,
                disposition,
                Jsonb([]),
            ),
        )


def test_clean_case_is_green(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    lon, lat = world.CENTRE
    case = _case(api_settings, seeded, "C-CLEAN", "W-C", [(lon, lat, 8.0)] * 120)
    r = client.get(f"/cases/{case}/compliance?{Q}", headers=token("pros1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == "green"
    assert body["score"] == 100
    assert body["coverage"]["received_fixes"] == 120
    assert body["coverage"]["share"] == 1.0


def test_uncertain_only_is_never_red(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    # On the city boundary with a 200 m accuracy: every fix is uncertain, none outside.
    lon, lat = world.CENTRE
    case = _case(api_settings, seeded, "C-UNSURE", "W-U", [(lon + 0.2, lat, 200.0)] * 120)
    _alert(api_settings, seeded, case, "location_uncertain", "open", None)
    body = client.get(f"/cases/{case}/compliance?{Q}", headers=token("pros1")).json()
    assert body["code"] != "red"
    assert body["minutes_outside_permitted"] == 0
    assert body["minutes_uncertain"] > 100


def test_confirmed_exclusion_violation_is_red_and_printed(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    lon, lat = world.CENTRE
    fixes = [(lon, lat, 8.0)] * 60 + [(lon + 0.05, lat, 8.0)] * 10 + [(lon, lat, 8.0)] * 50
    case = _case(api_settings, seeded, "C-RED", "W-R", fixes)
    _alert(api_settings, seeded, case, "stay_outside", "resolved", "violation_confirmed")
    body = client.get(f"/cases/{case}/compliance?{Q}", headers=token("pros1")).json()
    assert body["code"] == "red"
    assert any(p["veto"] and "exclusion" in p["reason"] for p in body["points"])
    assert body["violations_by_kind"] == [
        {"kind": "stay_outside", "count": 1, "dispositions": {"violation_confirmed": 1}}
    ]
    r = client.get(f"/cases/{case}/compliance.html?{Q}", headers=token("police1"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(r.text)
    assert page.svg_map, "the report has an inline SVG map"
    assert page.zones >= 2
    assert page.track_lines == 1
    assert page.violation_markers == 10
    # Printed in Chinese by default: the kind as stored (not a known alert kind, shown as is),
    # the disposition and the code in words.
    assert "stay outside" in page.tables["violations"]
    assert "确认违规" in page.tables["violations"]
    assert page.code == "红"
    assert "http" not in r.text.replace("http://www.w3.org/2000/svg", "")


def test_a_silence_counts_only_against_the_no_signal_limit_in_force(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    """A 41-minute silence (00:29-01:10) against the case's 30 minutes, against a no_signal
    rule of an hour, and while a permit suspends the case's no_signal rule."""
    lon, lat = world.CENTRE
    start = world.T0 + timedelta(days=4)

    def silent_case(number: str, device: str) -> int:
        case = _case(api_settings, seeded, number, device, [(lon, lat, 8.0)] * 120)
        with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
            conn.execute(
                "DELETE FROM pings WHERE case_id = %s AND fix_time >= %s AND fix_time < %s",
                (case, start + timedelta(minutes=30), start + timedelta(minutes=70)),
            )
        return case

    def rule(case: int, params: str) -> int:
        with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO case_rules (case_id, kind, params) VALUES (%s, 'no_signal', %s) "
                "RETURNING id", (case, params),
            ).fetchone()  # fmt: skip
        assert row is not None
        return int(row[0])

    def gap_points(case: int) -> list[str]:
        body = client.get(f"/cases/{case}/compliance?{Q}", headers=token("pros1")).json()
        return [p["reason"] for p in body["points"] if "without fixes" in p["reason"]]

    plain = silent_case("C-GAP", "W-GAP")
    assert gap_points(plain) == ["41 min without fixes (limit 30 min)"]
    longer = silent_case("C-GAP-HOUR", "W-GAP-H")
    rule(longer, '{"no_signal_after_s": 3600}')
    assert gap_points(longer) == []
    excused = silent_case("C-GAP-PERMIT", "W-GAP-P")
    suspended = rule(excused, "{}")
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, "
            "window_start, window_end) VALUES (%s, 'approved', 'hospital', %s, %s, %s)",
            (excused, [suspended], start + timedelta(minutes=20), start + timedelta(minutes=80)),
        )
    assert gap_points(excused) == []


def test_permit_cut_short_counts_until_its_cancellation(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    """Away 00:00-01:00 under a leave for 00:00-03:00 that was cancelled at 00:30: the half hour
    after the cancellation is time outside, and the return is judged from the cancellation."""
    lon, lat = world.CENTRE
    fixes = [(lon + 0.5, lat, 8.0)] * 60 + [(lon, lat, 8.0)] * 180
    case = _case(api_settings, seeded, "C-CUT", "W-CUT", fixes)
    start = world.T0 + timedelta(days=4)
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO leave_permits (case_id, status, reason, window_start, window_end, "
            "cancelled_at, cancel_note, ended_at) VALUES (%s, 'cancelled', 'visit', %s, %s, %s, "
            "'recalled', %s)",
            (case, start, start + timedelta(hours=3), *[start + timedelta(minutes=30)] * 2),
        )
    q = "from=2026-11-05T00:00:00Z&to=2026-11-05T04:00:00Z&purpose=custody+necessity+review"
    body = client.get(f"/cases/{case}/compliance?{q}", headers=token("pros1")).json()
    assert body["minutes_outside_permitted"] == 30
    (line,) = body["leave_permits"]
    assert (line["status"], line["adherence"]) == ("cancelled", "not_kept")
    assert line["ended_at"] == "2026-11-05T00:30:00Z"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svg_map = False
        self.zones = self.track_lines = self.violation_markers = 0
        self.tables: dict[str, str] = {}
        self.code = ""
        self._table: str | None = None
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and a.get("id") == "map":
            self.svg_map = True
        cls = a.get("class") or ""
        self.zones += tag == "path" and cls.startswith("zone-")
        self.track_lines += tag == "polyline" and cls == "track"
        self.violation_markers += tag == "circle" and cls == "violation"
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table or ""] = ""
        self._in_code = a.get("id") == "code"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._table:
            self.tables[self._table] += data + " "
        if self._in_code:
            self.code, self._in_code = data.strip(), False


def test_deposit_lifecycle_over_http(
    client: TestClient, seeded: world.World, token: Headers
) -> None:
    base = f"/cases/{seeded.case_a}/deposits"
    doc = {"document_number": "东公(取)决字〔2026〕12号", "document_date": "2026-11-01"}
    r = client.post(
        base,
        headers=token("police1"),
        json={
            **doc,
            "kind": "bail",
            "amount_fen": 2_000_000,
            "payer": "Person A",
            "account_number": "6222000011112222",
            "account_holder": "东营分局保证金专户",
        },
    )
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["status"] == "pending"
    assert dep["events"][0]["kind"] == "decided"
    url = f"{base}/{dep['id']}/events"
    bad = client.post(
        url, headers=token("police1"), json={**doc, "kind": "refunded", "amount_fen": 2_000_000}
    )
    assert bad.status_code == 409
    assert "pending cannot be refunded" in bad.json()["detail"]
    assert (
        client.post(
            url, headers=token("police1"), json={**doc, "kind": "received", "amount_fen": 2_000_000}
        ).json()["status"]
        == "held"
    )
    part = client.post(
        url, headers=token("super1"), json={**doc, "kind": "forfeited", "amount_fen": 500_000}
    )
    assert part.json()["status"] == "forfeited_in_part"
    assert part.json()["held_fen"] == 1_500_000
    floaty = client.post(
        url, headers=token("police1"), json={**doc, "kind": "refunded", "amount_fen": 1.5}
    )
    assert floaty.status_code == 422
    done = client.get(f"{base}/{dep['id']}", headers=token("pros1")).json()
    assert [e["kind"] for e in done["events"]] == ["decided", "received", "forfeited"]
    escrow = client.post(
        base,
        headers=token("police1"),
        json={
            **doc,
            "kind": "escrow",
            "amount_fen": 100,
            "payer": "P",
            "account_number": "1",
            "account_holder": "公证处",
            "notary_unit_id": seeded.units["P1"],
        },
    )
    assert escrow.status_code == 400
    assert "notary" in escrow.json()["detail"]
