"""The case-file ZIP: what a prosecutor exports and anyone can verify with the public key alone.

Layout (every name below is a ZIP member; all JSON is UTF-8):

* ``track/track.csv``, ``track/track.geojson``: the fixes (``evidence.tracks``), whole days;
* ``seals.json``: per device, the chain start before the first exported seal and the seals
  (``evidence.seals``) with their links;
* ``chains/<name>.json``: one per append-only record chain (audit, alert events, deposits, ...):
  the start link and every entry's record, content hash and link (``evidence.chain``);
* any other files given (reports, GPX, KML, ...), covered by their hash only;
* ``manifest.json``: canonical JSON (``evidence.canonical``) of the format, the signing key id, the
  case, the creation instant, the SHA-256 of every other member, and every chain's head link;
* ``manifest.sig``: the 64-byte raw Ed25519 signature of the exact bytes of ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import chain, keys
from evidence.canonical import Fix, Value, canonical_bytes, content_hash
from evidence.errors import PackageError
from evidence.seals import Seal
from evidence.tracks import to_csv, to_geojson

FORMAT = "bailwatch-evidence/1"
SEALS_FORMAT = "bailwatch-seals/1"
CHAIN_FORMAT = "bailwatch-chain/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
TRACK_CSV = "track/track.csv"
TRACK_GEOJSON = "track/track.geojson"
SEALS = "seals.json"
CHAINS_DIR = "chains/"


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """One stored entry of a record chain: the record and the hashes stored with it."""

    record: Mapping[str, Value]
    content_hash: bytes
    link: bytes


@dataclass(frozen=True, slots=True)
class ChainExport:
    """The part of one record chain a case file carries: the link before it and its entries."""

    start: bytes
    entries: Sequence[ChainRecord]

    @property
    def head(self) -> bytes:
        """The last link (the start when no entry is exported)."""
        return self.entries[-1].link if self.entries else self.start


def chain_export(
    records: Sequence[Mapping[str, Value]], start: bytes = chain.GENESIS
) -> ChainExport:
    """Chains ``records`` after ``start`` (what the database's append trigger stores per row)."""
    hashes = [content_hash(r) for r in records]
    links = chain.build(hashes, start)
    return ChainExport(
        start, [ChainRecord(r, h, k) for r, h, k in zip(records, hashes, links, strict=True)]
    )


def seals_document(seals: Sequence[Seal], starts: Mapping[str, bytes]) -> dict[str, Any]:
    """``seals.json``: per device (sorted), its chain start and its seals in chain order."""
    devices: dict[str, list[Seal]] = {}
    for s in seals:
        devices.setdefault(s.device_id, []).append(s)
    return {
        "format": SEALS_FORMAT,
        "devices": [
            {
                "device_id": d,
                "start": starts.get(d, chain.GENESIS).hex(),
                "seals": [{**s.record(), "link": s.link} for s in devices[d]],
            }
            for d in sorted(devices)
        ],
    }


def chain_document(name: str, export: ChainExport) -> dict[str, Any]:
    """``chains/<name>.json``."""
    return {
        "format": CHAIN_FORMAT,
        "name": name,
        "start": export.start.hex(),
        "entries": [
            {"record": dict(e.record), "content_hash": e.content_hash.hex(), "link": e.link.hex()}
            for e in export.entries
        ],
    }


def _json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
        "utf-8"
    )


def build_case_file(
    *,
    private_key: Ed25519PrivateKey,
    case: Mapping[str, Value],
    created_at_ms: int,
    zone: tzinfo,
    fixes: Sequence[Fix],
    seals: Sequence[Seal],
    seal_starts: Mapping[str, bytes],
    chains: Mapping[str, ChainExport],
    files: Mapping[str, bytes],
) -> bytes:
    """The signed case-file ZIP as bytes (deterministic for the same input)."""
    members: dict[str, bytes] = {
        TRACK_CSV: to_csv(sorted(fixes, key=lambda f: f.key), zone),
        TRACK_GEOJSON: to_geojson(sorted(fixes, key=lambda f: f.key)),
        SEALS: _json(seals_document(seals, seal_starts)),
    }
    for name, export in sorted(chains.items()):
        if not name.isidentifier():
            raise PackageError(f"chain name {name!r} must be an identifier")
        members[f"{CHAINS_DIR}{name}.json"] = _json(chain_document(name, export))
    for name in files:
        reserved = name in members or name in (MANIFEST, SIGNATURE) or name.startswith(CHAINS_DIR)
        if reserved or not name or name.startswith("/") or ".." in name.split("/"):
            raise PackageError(f"file name {name!r} is reserved or unsafe")
    members.update(files)

    heads: dict[str, Value] = {f"chains/{n}": e.head.hex() for n, e in sorted(chains.items())}
    for device in seals_document(seals, seal_starts)["devices"]:
        last = device["seals"][-1]["link"] if device["seals"] else device["start"]
        heads[f"seals/{device['device_id']}"] = last
    manifest = canonical_bytes(
        {
            "format": FORMAT,
            "key_id": keys.key_id(private_key.public_key()),
            "created_at_ms": created_at_ms,
            "case": dict(case),
            "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(members.items())},
            "heads": heads,
        }
    )
    signature = keys.sign(private_key, manifest)

    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=created_at_ms)
    date_time = max(stamp.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # the ZIP format starts in 1980
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [(MANIFEST, manifest), (SIGNATURE, signature), *sorted(members.items())]:
            zf.writestr(zipfile.ZipInfo(name, date_time=date_time), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()
