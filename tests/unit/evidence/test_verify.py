"""Tamper tests: every change to a signed case file is named by the verifier; untouched verifies."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from evidence import keys
from evidence.__main__ import main
from evidence.canonical import canonical_bytes
from evidence.errors import PackageError
from evidence.package import build_case_file, chain_export
from evidence.verify import Report, verify_case_file
from tests.unit.evidence import world


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> world.World:
    return world.build(tmp_path_factory.mktemp("case"))


def check(case: world.World, data: bytes) -> Report:
    return verify_case_file(data, [case.private.public_key()])


def places(report: Report) -> list[str]:
    return [f.where for f in report.findings]


def test_untouched_verifies(case: world.World) -> None:
    report = check(case, case.zip_bytes)
    assert report.ok, report.findings
    assert any("signature by key" in n for n in report.notes)
    assert any("superseded by amendments" in n for n in report.notes)


def test_rebuilt_zip_is_identical(case: world.World, tmp_path: Path) -> None:
    """The builder is deterministic: the same rows and key give the same bytes."""
    key_file = tmp_path / "case.pem"
    key_file.write_bytes(
        case.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    key_file.chmod(0o600)
    assert world.build(tmp_path).zip_bytes == case.zip_bytes


def test_one_byte_of_a_file(case: world.World) -> None:
    html = world.members(case.zip_bytes)["report/report.html"]
    tampered = world.rezip(case.zip_bytes, {"report/report.html": html.replace(b"<", b"[", 1)})
    report = check(case, tampered)
    assert places(report) == ["report/report.html"]
    assert "SHA-256 differs" in report.findings[0].message


def _move_fix(text: str, seq: str) -> str:
    """The track CSV with the W-002 fix of ``seq`` moved by 0.01 degrees of latitude."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == "W-002" and cells[2] == seq:
            cells[4] = repr(float(cells[4]) + 0.01)
            lines[i] = ",".join(cells)
    return "".join(lines)


def test_a_fix_coordinate_in_the_track(case: world.World) -> None:
    csv_text = world.members(case.zip_bytes)["track/track.csv"].decode()
    tampered = world.rezip(case.zip_bytes, {"track/track.csv": _move_fix(csv_text, "103").encode()})
    report = check(case, tampered)
    assert places(report) == [
        "track/track.csv",
        "track/track.geojson",
        "track/track.csv device W-002 day 2026-12-02",
    ]
    assert "SHA-256 differs" in report.findings[0].message
    assert f"fix device W-002 fix_time_ms {world.DAY1 + 36 * world.HOUR} seq 103" in (
        report.findings[1].message
    )
    assert "do not match the day seal" in report.findings[2].message


def test_a_fix_changed_everywhere_with_a_rehashed_manifest(case: world.World) -> None:
    """An attacker without the key rewrites both tracks and the manifest's hashes."""
    m = world.members(case.zip_bytes)
    csv_bytes = _move_fix(m["track/track.csv"].decode(), "103").encode()
    geo = json.loads(m["track/track.geojson"])
    for feature in geo["features"]:
        p = feature["properties"]
        if p["device_id"] == "W-002" and p["seq"] == 103:
            feature["geometry"]["coordinates"][1] += 0.01
    geo_bytes = json.dumps(geo, ensure_ascii=False).encode()
    manifest = json.loads(m["manifest.json"])
    manifest["files"]["track/track.csv"] = hashlib.sha256(csv_bytes).hexdigest()
    manifest["files"]["track/track.geojson"] = hashlib.sha256(geo_bytes).hexdigest()
    tampered = world.rezip(
        case.zip_bytes,
        {
            "track/track.csv": csv_bytes,
            "track/track.geojson": geo_bytes,
            "manifest.json": canonical_bytes(manifest),
        },
    )
    report = check(case, tampered)
    # Both track files agree, so the day is named once, by the CSV.
    assert places(report) == ["manifest.sig", "track/track.csv device W-002 day 2026-12-02"]


def test_a_seal_changed(case: world.World) -> None:
    m = world.members(case.zip_bytes)
    seals = json.loads(m["seals.json"])
    day2 = seals["devices"][0]["seals"][1]
    assert (day2["device_id"], day2["day"]) == ("W-001", "2026-12-02")
    day2["root"] = "00" * 32
    tampered = world.rezip(case.zip_bytes, {"seals.json": json.dumps(seals).encode()})
    report = check(case, tampered)
    assert places(report) == [
        "seals.json",
        "seals.json device W-001",
        "track/track.csv device W-001 day 2026-12-02",
    ]
    assert "first broken link 1: link differs" in report.findings[1].message


def test_an_audit_row_changed(case: world.World) -> None:
    m = world.members(case.zip_bytes)
    audit = json.loads(m["chains/audit.json"])
    audit["entries"][2]["record"]["purpose"] = "无 / none"
    tampered = world.rezip(case.zip_bytes, {"chains/audit.json": json.dumps(audit).encode()})
    report = check(case, tampered)
    assert places(report) == ["chains/audit.json", "chains/audit.json"]
    assert "first broken link 2: content_hash differs" in report.findings[1].message


def test_an_alert_event_removed(case: world.World) -> None:
    m = world.members(case.zip_bytes)
    events = json.loads(m["chains/alert_events.json"])
    del events["entries"][0]
    tampered = world.rezip(
        case.zip_bytes, {"chains/alert_events.json": json.dumps(events).encode()}
    )
    report = check(case, tampered)
    assert "first broken link 0: link differs" in report.findings[-1].message


def test_the_manifest_changed(case: world.World) -> None:
    m = world.members(case.zip_bytes)
    manifest = json.loads(m["manifest.json"])
    manifest["case"]["purpose"] = "其他 / other"
    tampered = world.rezip(case.zip_bytes, {"manifest.json": canonical_bytes(manifest)})
    report = check(case, tampered)
    assert places(report) == ["manifest.sig"]
    assert "does not verify" in report.findings[0].message


def test_a_signature_from_another_key(case: world.World, tmp_path: Path) -> None:
    other = keys.ensure_private_key(tmp_path / "other.pem")
    m = world.members(case.zip_bytes)
    resigned = world.rezip(case.zip_bytes, {"manifest.sig": keys.sign(other, m["manifest.json"])})
    report = check(case, resigned)
    assert places(report) == ["manifest.sig"]
    assert "does not verify" in report.findings[0].message
    foreign = world.build(tmp_path, "foreign.pem")
    report = check(case, foreign.zip_bytes)
    assert places(report) == ["manifest.sig"]
    assert "not among the given keys" in report.findings[0].message


def _without(data: bytes, drop: str, add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in world.members(data).items():
            if name != drop:
                zf.writestr(name, content)
        for name, content in (add or {}).items():
            zf.writestr(name, content)
    return out.getvalue()


def test_added_and_removed_files(case: world.World) -> None:
    tampered = _without(case.zip_bytes, "report/report.html", {"planted.txt": b"x"})
    report = check(case, tampered)
    assert places(report) == ["report/report.html", "planted.txt"]
    assert "missing from the ZIP" in report.findings[0].message
    assert "not listed in the manifest" in report.findings[1].message


def test_repacking_without_changes_still_verifies(case: world.World) -> None:
    assert check(case, world.rezip(case.zip_bytes, {})).ok


def test_not_a_zip_and_missing_manifest(case: world.World) -> None:
    assert places(check(case, b"PK\x03\x04 broken")) == ["ZIP"]
    assert places(check(case, _without(case.zip_bytes, "manifest.json"))) == ["manifest.json"]
    assert places(check(case, _without(case.zip_bytes, "manifest.sig"))) == ["manifest.sig"]


def test_command_line(
    case: world.World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.zip"
    good.write_bytes(case.zip_bytes)
    assert main(["verify", str(good), "--key", str(case.public_pem)]) == 0
    assert "OK:" in capsys.readouterr().out

    bad = tmp_path / "bad.zip"
    html = world.members(case.zip_bytes)["report/report.html"]
    bad.write_bytes(world.rezip(case.zip_bytes, {"report/report.html": html + b" "}))
    assert main(["verify", str(bad), "--key", str(case.public_pem)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH report/report.html: SHA-256 differs" in out
    assert "FAILED: 1 mismatch(es)" in out

    ring = tmp_path / "ring"
    keys.write_public_key(ring, keys.ensure_private_key(tmp_path / "new.pem").public_key())
    keys.write_public_key(ring, case.private.public_key())
    assert main(["verify", str(good), "--key", str(ring)]) == 0
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "absent.zip"), "--key", str(case.public_pem)]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["verify", str(good), "--key", str(good)]) == 1
    assert "not a PEM public key" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    ["manifest.json", "seals.json", "track/track.csv", "chains/x.json", "../x", "/etc/x", ""],
)
def test_reserved_or_unsafe_file_names_are_refused(case: world.World, name: str) -> None:
    with pytest.raises(PackageError, match="reserved or unsafe"):
        build_case_file(
            private_key=case.private,
            case={},
            created_at_ms=world.DAY1,
            zone=world.SHANGHAI,
            fixes=[],
            seals=[],
            seal_starts={},
            chains={},
            files={name: b"x"},
        )
    with pytest.raises(PackageError, match="identifier"):
        build_case_file(
            private_key=case.private,
            case={},
            created_at_ms=world.DAY1,
            zone=world.SHANGHAI,
            fixes=[],
            seals=[],
            seal_starts={},
            chains={"../audit": chain_export([])},
            files={},
        )


def test_an_empty_case_file_verifies(case: world.World) -> None:
    empty = build_case_file(
        private_key=case.private,
        case={"case_id": 1},
        created_at_ms=world.DAY1,
        zone=world.SHANGHAI,
        fixes=[],
        seals=[],
        seal_starts={},
        chains={"audit": chain_export([])},
        files={},
    )
    assert check(case, empty).ok


def test_a_second_copy_of_a_member_is_named(case: world.World) -> None:
    fake = world.members(case.zip_bytes)["track/track.csv"].replace(b"W-002", b"W-009")
    with pytest.warns(UserWarning, match="Duplicate name"):
        tampered = _without(case.zip_bytes, "", {"track/track.csv": fake})
    report = check(case, tampered)
    assert "track/track.csv" in places(report)
    assert "appears 2 times" in report.findings[0].message
