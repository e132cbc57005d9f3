"""A small case file for the evidence tests: two devices, two Shanghai days, an amendment, and
three record chains, built with the real builder and signed with a throwaway key."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import keys
from evidence.canonical import (
    Fix,
    alert_event_record,
    audit_record,
    deposit_event_record,
    epoch_ms,
)
from evidence.package import build_case_file, chain_export
from evidence.seals import make_seal, seal_days

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = epoch_ms(datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai")))
HOUR = 3_600_000
W002_START = b"\x07" * 32


def fixes() -> list[Fix]:
    out = []
    for device, lon0 in (("W-001", 118.674), ("W-002", 118.5)):
        for day in (0, 1):
            for i in range(6):
                out.append(
                    Fix(
                        device,
                        DAY1 + day * 24 * HOUR + i * 4 * HOUR,
                        day * 100 + i,
                        lon0 + i * 1e-4,
                        37.434 + i * 1e-4,
                        5.0 + i,
                        "gnss",
                        spd=None if i % 2 else 1.25,
                        batt=90 - i,
                    )
                )
    return out


@dataclass
class World:
    private: Ed25519PrivateKey
    public_pem: Path
    zip_bytes: bytes
    fixes: list[Fix]


def build(tmp_path: Path, name: str = "case.pem") -> World:
    private = keys.ensure_private_key(tmp_path / name)
    public_pem = tmp_path / f"{name}.pub"
    public_pem.write_bytes(keys.public_pem(private.public_key()))
    all_fixes = fixes()
    # The late fix of W-001's first day arrived after that day was sealed: an amendment follows.
    late = Fix("W-001", DAY1 + 23 * HOUR, 99, 118.7, 37.44, 8.0, "wifi")
    seals = seal_days(all_fixes, SHANGHAI, starts={"W-002": W002_START})
    w1 = [s for s in seals if s.device_id == "W-001"]
    day1 = [f for f in all_fixes if f.device_id == "W-001" and f.fix_time_ms < DAY1 + 24 * HOUR]
    amendment = make_seal(
        "W-001", date(2026, 12, 1), SHANGHAI, [*day1, late], bytes.fromhex(w1[-1].link)
    )
    audit = [
        audit_record(
            at_ms=DAY1 + i,
            actor=f"user-{i}",
            action="read_track",
            case_id=7,
            purpose="核查 / review",
            detail={"range": [DAY1, DAY1 + 24 * HOUR]},
        )
        for i in range(4)
    ]
    alerts = [
        alert_event_record(alert_id=1, at_ms=DAY1 + 5, event="raised", actor=None, detail={}),
        alert_event_record(alert_id=1, at_ms=DAY1 + 9, event="disposed", actor="p-1", detail={}),
    ]
    deposits = [
        deposit_event_record(
            deposit_id=2, at_ms=DAY1, event="paid", amount_fen=1_000_000, actor="c-1", detail={}
        )
    ]
    data = build_case_file(
        private_key=private,
        case={"case_id": 7, "from_ms": DAY1, "to_ms": DAY1 + 48 * HOUR, "purpose": "庭审 / trial"},
        created_at_ms=DAY1 + 72 * HOUR,
        zone=SHANGHAI,
        fixes=[*all_fixes, late],
        seals=[*seals, amendment],
        seal_starts={"W-002": W002_START},
        chains={
            "audit": chain_export(audit, start=b"\x05" * 32),
            "alert_events": chain_export(alerts),
            "deposit_events": chain_export(deposits),
        },
        files={"report/report.html": "<html>合规报告</html>".encode()},
    )
    return World(private, public_pem, data, [*all_fixes, late])


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The same ZIP with some members' bytes replaced (an attacker without the key)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members(data).items():
            zf.writestr(name, replace.get(name, content))
    return out.getvalue()
