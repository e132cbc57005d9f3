"""Offline verification of a case-file ZIP with nothing but the ZIP and the public key(s).

Checks, in order, and reports every mismatch with the place it is in:

1. the ZIP opens and holds ``manifest.json`` and ``manifest.sig``;
2. the signature: the manifest names a key id, one of the given public keys has that id, and the
   signature verifies over the exact bytes of ``manifest.json``;
3. every file: listed files are present with the listed SHA-256, and no unlisted file is present;
4. the track: both track files read as fixes and hold the same fixes;
5. the seals: each device's seal chain verifies (first broken link named) and ends at the head
   the manifest names; the latest seal of every device-day matches the Merkle root and count
   recomputed from each track file;
6. the record chains: each verifies (first broken link named) and ends at the manifest's head.

Only ``cryptography`` and the standard library are used.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence import chain, keys
from evidence.canonical import Fix, canonical_bytes
from evidence.errors import CanonicalError
from evidence.package import (
    CHAINS_DIR,
    FORMAT,
    MANIFEST,
    SEALS,
    SIGNATURE,
    TRACK_CSV,
    TRACK_GEOJSON,
)
from evidence.seals import Seal, day_root
from evidence.tracks import from_csv, from_geojson, to_geojson

#: At most this many differing fixes are listed between the two track files (the rest are counted).
MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing that does not verify: where (a file, a device/day, a link) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class Report:
    """The outcome: ``ok`` when nothing failed; ``notes`` say what was checked or left unsealed."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def fail(self, where: str, message: str) -> None:
        self.findings.append(Finding(where, message))


def verify_case_file(data: bytes, public_keys: Sequence[Ed25519PublicKey]) -> Report:
    """Verifies the case-file ZIP ``data`` against the given public keys (see the module doc)."""
    report = Report()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
        members = {i.filename: zf.read(i) for i in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError) as exc:
        report.fail("ZIP", f"cannot be read as a ZIP file ({exc})")
        return report
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or an unknown compression
        report.fail("ZIP", f"holds a member this verifier cannot read ({exc})")
        return report
    names = Counter(i.filename for i in infos)
    for name, times in sorted(names.items()):
        if times > 1:
            report.fail(name, f"appears {times} times in the ZIP (tools may show either copy)")
    manifest_bytes = members.get(MANIFEST)
    signature = members.get(SIGNATURE)
    if manifest_bytes is None or signature is None:
        for name in (MANIFEST, SIGNATURE):
            if name not in members:
                report.fail(name, "missing from the ZIP")
        return report
    manifest = _read_manifest(manifest_bytes, report)
    if manifest is None:
        return report
    _check_signature(manifest, manifest_bytes, signature, public_keys, report)
    _check_files(manifest["files"], members, report)
    fixes = _check_tracks(members, report)
    heads: Mapping[str, str] = manifest["heads"]
    _check_seals(members, fixes, heads, report)
    _check_chains(members, heads, report)
    return report


def _read_manifest(data: bytes, report: Report) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.fail(MANIFEST, f"not JSON ({exc})")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        report.fail(MANIFEST, f"not a {FORMAT} manifest")
        return None
    for key, kind in (("key_id", str), ("files", dict), ("heads", dict)):
        if not isinstance(manifest.get(key), kind):
            report.fail(MANIFEST, f"{key} missing or not a {kind.__name__}")
            return None
    return manifest


def _check_signature(
    manifest: Mapping[str, Any],
    manifest_bytes: bytes,
    signature: bytes,
    public_keys: Sequence[Ed25519PublicKey],
    report: Report,
) -> None:
    by_id = {keys.key_id(k): k for k in public_keys}
    wanted = manifest["key_id"]
    key = by_id.get(wanted)
    if key is None:
        given = ", ".join(sorted(by_id)) or "none"
        report.fail(
            SIGNATURE, f"signed by key {wanted}, which is not among the given keys ({given})"
        )
        return
    if not keys.verify_signature(key, manifest_bytes, signature):
        report.fail(
            SIGNATURE,
            f"the signature does not verify with key {wanted}: "
            f"{MANIFEST} or {SIGNATURE} was changed",
        )
        return
    report.notes.append(f"signature by key {wanted} verifies")


def _check_files(listed: Mapping[str, Any], members: Mapping[str, bytes], report: Report) -> None:
    for name, expected in sorted(listed.items()):
        data = members.get(name)
        if data is None:
            report.fail(name, "listed in the manifest but missing from the ZIP")
            continue
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            report.fail(name, f"SHA-256 differs (manifest {expected}, file {actual})")
    for name in sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE}):
        report.fail(name, "in the ZIP but not listed in the manifest")
    report.notes.append(f"{len(listed)} files listed in the manifest")


def _check_tracks(members: Mapping[str, bytes], report: Report) -> dict[str, list[Fix]]:
    """The fixes to check the seals against, by track file: one file when both hold the same
    fixes, else each, after reporting unreadable rows and the fixes that differ.

    The GeoJSON written from the CSV's fixes is compared byte for byte first: when it is the file
    in the ZIP, the two hold the same fixes and the GeoJSON need not be parsed.
    """
    tracks: dict[str, list[Fix]] = {}
    for name, reader in ((TRACK_CSV, from_csv), (TRACK_GEOJSON, from_geojson)):
        if name not in members:
            report.fail(name, "missing from the ZIP")
            continue
        if (
            name == TRACK_GEOJSON
            and TRACK_CSV in tracks
            and to_geojson(tracks[TRACK_CSV]) == members[name]
        ):
            return {TRACK_CSV: tracks[TRACK_CSV]}
        fixes, problems = reader(members[name], name)
        for p in problems:
            report.fail(p.where, p.message)
        tracks[name] = fixes
    if len(tracks) == 2:
        csv_fixes = {f.key: f for f in tracks[TRACK_CSV]}
        geo_fixes = {f.key: f for f in tracks[TRACK_GEOJSON]}
        differing = sorted(
            k
            for k in csv_fixes.keys() | geo_fixes.keys()
            if _leaf(csv_fixes.get(k)) != _leaf(geo_fixes.get(k))
        )
        for key in differing[:MAX_LISTED]:
            report.fail(
                TRACK_GEOJSON,
                f"fix {_key_text(key)} differs from {TRACK_CSV} "
                f"({_fix_text(csv_fixes.get(key))} vs {_fix_text(geo_fixes.get(key))})",
            )
        if len(differing) > MAX_LISTED:
            report.fail(TRACK_GEOJSON, f"{len(differing) - MAX_LISTED} more fixes differ")
        if not differing:
            return {TRACK_CSV: tracks[TRACK_CSV]}
    return tracks


def _leaf(fix: Fix | None) -> bytes | None:
    return None if fix is None else fix.leaf()


def _key_text(key: tuple[str, int, int]) -> str:
    return f"device {key[0]} fix_time_ms {key[1]} seq {key[2]}"


def _fix_text(fix: Fix | None) -> str:
    return "absent" if fix is None else f"lon {fix.lon!r} lat {fix.lat!r} acc {fix.acc!r}"


def _seal_of(entry: Mapping[str, Any], device_id: str) -> Seal:
    seal = Seal(
        device_id=device_id,
        day=entry["day"],
        from_ms=entry["from_ms"],
        to_ms=entry["to_ms"],
        count=entry["count"],
        root=entry["root"],
        link=entry["link"],
    )
    if entry.get("kind") != "seal" or entry.get("device_id") != device_id:
        raise ValueError("kind or device_id does not match")
    return seal


def _check_seals(
    members: Mapping[str, bytes],
    tracks: Mapping[str, list[Fix]],
    heads: Mapping[str, str],
    report: Report,
) -> None:
    doc = _json_member(members, SEALS, report)
    if doc is None:
        return
    sealed_devices: set[str] = set()
    indexes = {name: _TrackIndex(fixes) for name, fixes in tracks.items()}
    try:
        for device in doc["devices"]:
            device_id: str = device["device_id"]
            sealed_devices.add(device_id)
            where = f"{SEALS} device {device_id}"
            seals = [_seal_of(e, device_id) for e in device["seals"]]
            entries = [
                chain.Entry(
                    canonical_bytes(s.record()),
                    hashlib.sha256(canonical_bytes(s.record())).digest(),
                    bytes.fromhex(s.link),
                )
                for s in seals
            ]
            _check_chain(
                where, entries, bytes.fromhex(device["start"]), f"seals/{device_id}", heads, report
            )
            latest = {s.day: s for s in seals}
            for day, s in sorted(latest.items()):
                _check_day(device_id, day, s, indexes, report)
            amended = len(seals) - len(latest)
            if amended:
                report.notes.append(
                    f"device {device_id}: {amended} seal(s) superseded by amendments"
                )
    except (KeyError, TypeError, ValueError, CanonicalError) as exc:
        report.fail(SEALS, f"malformed ({exc!r})")
        return
    for name in heads:
        if name.startswith("seals/") and name.removeprefix("seals/") not in sealed_devices:
            report.fail(
                SEALS, f"device {name.removeprefix('seals/')} named in the manifest is missing"
            )


class _TrackIndex:
    """A track file's fixes by device, sorted by key, so each seal's day is found by bisection."""

    def __init__(self, fixes: Sequence[Fix]) -> None:
        by_device: dict[str, list[Fix]] = {}
        for f in sorted(fixes, key=lambda f: f.key):
            by_device.setdefault(f.device_id, []).append(f)
        self._fixes = by_device
        self._times = {d: [f.fix_time_ms for f in fs] for d, fs in by_device.items()}

    def between(self, device_id: str, from_ms: int, to_ms: int) -> list[Fix]:
        """The device's fixes with ``from_ms <= fix_time_ms < to_ms``, in key order."""
        times = self._times.get(device_id, [])
        lo, hi = bisect_left(times, from_ms), bisect_left(times, to_ms)
        return self._fixes.get(device_id, [])[lo:hi]


def _check_day(
    device_id: str, day: str, seal: Seal, tracks: Mapping[str, _TrackIndex], report: Report
) -> None:
    for name, index in tracks.items():
        count, root = day_root(index.between(device_id, seal.from_ms, seal.to_ms))
        if root.hex() != seal.root or count != seal.count:
            report.fail(
                f"{name} device {device_id} day {day}",
                f"the fixes do not match the day seal: Merkle root {root.hex()} over {count} "
                f"fixes, sealed {seal.root} over {seal.count} fixes",
            )


def _check_chains(members: Mapping[str, bytes], heads: Mapping[str, str], report: Report) -> None:
    names = sorted(n for n in members if n.startswith(CHAINS_DIR) and n.endswith(".json"))
    for member in names:
        doc = _json_member(members, member, report)
        if doc is None:
            continue
        try:
            entries = [
                chain.Entry(
                    canonical_bytes(e["record"]),
                    bytes.fromhex(e["content_hash"]),
                    bytes.fromhex(e["link"]),
                )
                for e in doc["entries"]
            ]
            head_name = f"chains/{doc['name']}"
            _check_chain(member, entries, bytes.fromhex(doc["start"]), head_name, heads, report)
        except (KeyError, TypeError, ValueError, CanonicalError) as exc:
            report.fail(member, f"malformed ({exc!r})")
    present = {n.removeprefix(CHAINS_DIR).removesuffix(".json") for n in names}
    for name in heads:
        if name.startswith("chains/") and name.removeprefix("chains/") not in present:
            report.fail(f"{name}.json", "named in the manifest but missing from the ZIP")


def _check_chain(
    where: str,
    entries: Sequence[chain.Entry],
    start: bytes,
    head_name: str,
    heads: Mapping[str, str],
    report: Report,
) -> None:
    broken = chain.verify(entries, start)
    if broken is not None:
        report.fail(where, f"first broken {broken.describe()}")
        return
    head = entries[-1].link.hex() if entries else start.hex()
    expected = heads.get(head_name)
    if expected != head:
        report.fail(where, f"chain head {head} differs from the manifest's {expected}")
        return
    report.notes.append(f"{where}: {len(entries)} links verify")


def _json_member(members: Mapping[str, bytes], name: str, report: Report) -> Any:
    if name not in members:
        report.fail(name, "missing from the ZIP")
        return None
    try:
        return json.loads(members[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.fail(name, f"not JSON ({exc})")
        return None
