"""The printable report through the real path: a simulated watch publishes fixes over MQTT, the
real ingester stores and judges them and raises the alert, an officer resolves it over the API,
and a prosecutor downloads the PDF and the HTML. The PDF is opened (pdftotext, pdftoppm); the
HTML is parsed strictly and escapes a hostile name; the document's hash is in the response
header and on the access-log entry of the read."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import html5lib
import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from api.compliance.i18n import words
from config.settings import Settings
from tests.integration.ingest.helpers import fix, ingester, loc, now_ms, rows, scalar
from tests.support import services

pytestmark = pytest.mark.integration

_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
HOME = (118.6749, 37.4340)
#: The victim's home, 2 km east of HOME: an exclusion circle of 300 m.
VICTIM = (118.6975, 37.4340)
DEFENDANT = "<script>alert('张三')</script>"
CASE_NUMBER = "东检刑诉〔2026〕17号"
PURPOSE = "羁押必要性审查 case 17"
SVG = "{http://www.w3.org/2000/svg}"
CLEARED = "SELECT count(*) FROM alerts WHERE case_id = %s AND cleared_at IS NOT NULL"


@dataclass(frozen=True)
class Case:
    case_id: int
    device: str


def _world(settings: Settings) -> Case:
    """A station with an officer, a procuratorate with a prosecutor, and a case (hostile
    defendant name) with a permitted city circle and the victim's exclusion circle."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:

        def one(sql: str, *params: object) -> int:
            row = conn.execute(sql, params).fetchone()
            assert row is not None
            return int(row[0])

        police = one(
            "INSERT INTO units (code, name, kind) VALUES ('R-PSB', '东营区公安分局', 'police') "
            "RETURNING id"
        )
        proc = one(
            "INSERT INTO units (code, name, kind) VALUES ('R-PRO', '东营区人民检察院', "
            "'procuratorate') RETURNING id"
        )
        for username, role, unit in (
            ("r.police", "police", police),
            ("r.pros", "prosecutor", proc),
        ):
            conn.execute(
                "INSERT INTO users (username, display_name, role, unit_id, password_hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                (username, f"{role} 李", role, unit, _FAST.hash(f"pw-{username}")),
            )
        pros = one("SELECT id FROM users WHERE username = 'r.pros'")
        person = one("INSERT INTO persons (full_name) VALUES (%s) RETURNING id", DEFENDANT)
        case = one(
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id, "
            "procuratorate_unit_id, prosecutor_user_id) VALUES (%s, %s, 'bail', 'active', %s, "
            "%s, %s) RETURNING id",
            CASE_NUMBER, person, police, proc, pros,
        )  # fmt: skip
        grace = json.dumps({"open_after_fixes": 1, "clear_after_fixes": 1})
        for name, centre, radius, kind in (
            ("东营市区", HOME, 8000, "stay_inside"),
            ("被害人住所", VICTIM, 300, "stay_outside"),
        ):
            zone = one(
                "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) "
                "VALUES (%s, %s, 'circle', %s, %s) RETURNING id",
                police, name, json.dumps({"type": "Point", "coordinates": list(centre)}), radius,
            )  # fmt: skip
            conn.execute(
                "INSERT INTO case_rules (case_id, kind, zone_id, grace) VALUES (%s, %s, %s, %s)",
                (case, kind, zone, grace),
            )
        device = "w-report-1"
        conn.execute("INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (device, police))
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES (%s, %s, %s)",
            (device, case, datetime.now(UTC) - timedelta(days=1)),
        )
    return Case(case, device)


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": username, "password": f"pw-{username}"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def resolved(settings: Settings) -> tuple[Settings, Case, int, int]:
    """The case after its watch walked into the victim's zone and out again, over MQTT through
    the ingester; the alert resolved by the officer as a confirmed violation: (settings,
    case, alert id, fix time of the first fix in ms)."""
    case = _world(settings)
    t0 = now_ms() - 10 * 60_000
    path = [HOME] * 8 + [VICTIM] * 4 + [HOME] * 6
    messages = [
        loc(case.device, fix(t0 + 20_000 * i, i, lon=lon, lat=lat, acc=10.0))
        for i, (lon, lat) in enumerate(path)
    ]
    client = services.mqtt_client(settings)
    try:
        with ingester(settings):
            services.publish_all(client, messages)
            services.wait_until(
                lambda: scalar(settings, CLEARED, case.case_id) == 1,
                timeout_s=30,
                what="the exclusion-zone episode opened and cleared",
            )
    finally:
        client.disconnect()
    (alert_id, kind), *_ = rows(
        settings, "SELECT id, kind FROM alerts WHERE case_id = %s", case.case_id
    )
    assert kind == "entered_exclusion_zone"
    with TestClient(create_app(settings)) as api:
        r = api.post(
            f"/alerts/{alert_id}/resolve",
            headers=_login(api, "r.police"),
            json={"disposition": "violation_confirmed", "note": "现场核实：进入被害人住所"},
        )
        assert r.status_code == 200, r.text
    return settings, case, alert_id, t0


def _query(t0_ms: int, **extra: str) -> dict[str, str]:
    start = datetime.fromtimestamp(t0_ms / 1000 - 60, UTC)
    return {
        "from": start.isoformat(),
        "to": datetime.now(UTC).isoformat(),
        "purpose": PURPOSE,
        **extra,
    }


def test_pdf_is_evidence(resolved: tuple[Settings, Case, int, int], tmp_path: Path) -> None:
    settings, case, alert_id, t0 = resolved
    with TestClient(create_app(settings)) as api:
        pros = _login(api, "r.pros")
        q = _query(t0)
        r = api.get(f"/cases/{case.case_id}/compliance.pdf", params=q, headers=pros)
        judged = api.get(f"/cases/{case.case_id}/compliance", params=q, headers=pros)
        bad = api.get(
            f"/cases/{case.case_id}/compliance.pdf", params=_query(t0, lang="fr"), headers=pros
        )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    digest = hashlib.sha256(r.content).hexdigest()
    assert r.headers["x-document-sha256"] == digest
    logged = rows(
        settings,
        "SELECT action, purpose, document_sha256, detail->>'format' FROM access_log "
        "WHERE case_id = %s AND detail->>'format' = 'pdf'",
        case.case_id,
    )
    assert logged == [("compliance.read", PURPOSE, digest, "pdf")]
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert DEFENDANT.replace(" ", "") in flat  # printed as text, not markup
    assert CASE_NUMBER in flat
    body = judged.json()
    zh = words("zh")
    # The code and score as judged, every score line, each veto marked.
    assert re.search(
        rf"合规等级\s+{zh.label('code', body['code'])}\s+得分\s+{body['score']}/100", text
    )
    # A confirmed entry into the victim's exclusion zone vetoes: red, whatever the points.
    assert body["code"] == "red"
    assert any(p["veto"] for p in body["points"])
    for point in body["points"]:
        assert point["reason_zh"].replace(" ", "") in flat
    assert text.count(zh.veto) == sum(p["veto"] for p in body["points"])
    assert f"#{alert_id}" in text
    assert "进入禁止区域" in text
    assert "确认违规" in text
    assert "东营区公安分局" in text
    assert "东营区人民检察院" in text
    assert PURPOSE in text
    # The data hash in the footer is the one a fresh JSON read of the same range gives.
    assert judged.headers["x-report-data-sha256"] == r.headers["x-report-data-sha256"]
    assert r.headers["x-report-data-sha256"] in flat
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-png", str(pdf), str(tmp_path / "p")],
        capture_output=True, check=True,
    )  # fmt: skip
    (png,) = tmp_path.glob("p*.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert png.stat().st_size > 10_000


def test_html_is_valid_escaped_and_bilingual(resolved: tuple[Settings, Case, int, int]) -> None:
    settings, case, alert_id, t0 = resolved
    with TestClient(create_app(settings)) as api:
        pros = _login(api, "r.pros")
        zh = api.get(f"/cases/{case.case_id}/compliance.html", params=_query(t0), headers=pros)
        judged = api.get(f"/cases/{case.case_id}/compliance", params=_query(t0), headers=pros)
        en = api.get(
            f"/cases/{case.case_id}/compliance.html", params=_query(t0, lang="en"), headers=pros
        )
    assert zh.status_code == 200, zh.text
    assert zh.headers["content-type"].startswith("text/html")
    assert zh.headers["x-document-sha256"] == hashlib.sha256(zh.content).hexdigest()
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    doc = parser.parse(zh.text)
    assert doc.findall(".//script") == []
    assert doc.find(".//td[@id='defendant']").text == DEFENDANT
    assert doc.find(".//td[@id='case-number']").text == CASE_NUMBER
    assert doc.find(".//span[@id='code']").text == words("zh").label("code", judged.json()["code"])
    main = doc.find(f".//{SVG}svg[@id='map']")
    assert main is not None
    markers = main.findall(f".//{SVG}circle[@class='violation']")
    assert len(markers) == 4  # the four fixes inside the victim's zone
    zones = [p.get("class") for p in main.findall(f".//{SVG}path") if p.get("class")]
    assert sorted(zones) == ["zone-inside", "zone-outside"]
    assert doc.find(f".//figure[@id='inset-{alert_id}']") is not None
    assert "http://" not in zh.text.replace("http://www.w3.org/2000/svg", "")
    assert "Compliance report" not in zh.text
    assert en.status_code == 200
    assert "Electronic supervision compliance report" in en.text
    assert "entered exclusion zone" in en.text
    assert scalar(
        settings, "SELECT count(DISTINCT document_sha256) FROM access_log WHERE case_id = %s",
        case.case_id,
    ) == 2  # fmt: skip
