"""``python -m evidence verify FILE.zip --key PUBKEY.pem [--key OLD.pem | --key KEYDIR]``.

Prints what was checked and every mismatch (file, device/day, first broken link); exits 0 when all
verifies, 1 when anything does not (or the ZIP or a key cannot be read).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence import keys
from evidence.errors import KeyFileError
from evidence.verify import verify_case_file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evidence", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify a case-file ZIP offline")
    verify.add_argument("file", type=Path, help="the case-file ZIP")
    verify.add_argument(
        "--key",
        type=Path,
        action="append",
        required=True,
        help="a public key PEM file, or a directory of them (repeatable, for rotated keys)",
    )
    return parser


def _load_keys(paths: Sequence[Path]) -> list[Ed25519PublicKey]:
    found: list[Ed25519PublicKey] = []
    for p in paths:
        found.extend(keys.load_keyring(p).values() if p.is_dir() else [keys.read_public_key(p)])
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        public_keys = _load_keys(args.key)
        data = args.file.read_bytes()
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    report = verify_case_file(data, public_keys)
    for note in report.notes:
        print(f"checked: {note}")
    for finding in report.findings:
        print(f"MISMATCH {finding}")
    if report.ok:
        print(f"OK: {args.file} verifies")
        return 0
    print(f"FAILED: {len(report.findings)} mismatch(es) in {args.file}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
