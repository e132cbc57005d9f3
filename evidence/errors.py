"""The evidence package's errors: one hierarchy, raised for bad input, never for a failed check.

A failed verification is a result (a list of findings), not an exception; these errors mean the
input could not even be read as what it claims to be.
"""

from __future__ import annotations


class EvidenceError(Exception):
    """Base of every error raised by the evidence package."""


class CanonicalError(EvidenceError, ValueError):
    """A value has no canonical encoding (NaN, a naive datetime, a non-string key, ...)."""


class MerkleError(EvidenceError, ValueError):
    """A Merkle index or proof is malformed (index out of range, wrong hash length)."""


class KeyFileError(EvidenceError):
    """A key file is missing, unreadable, of the wrong type, or readable by others."""


class PackageError(EvidenceError):
    """A case-file ZIP cannot be built from the given input."""
