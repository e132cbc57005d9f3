"""Hashes that let a reader check a report was not altered. Pure.

``report_sha256`` is the SHA-256 of the data a compliance report was built from, as canonical
JSON: the JSON form of the ``ComplianceReport`` model without its generation time, keys sorted,
no whitespace, UTF-8 (non-ASCII kept as is). The same facts over the same range give the same
hash whenever they are read, so a printed report's footer can be checked against a fresh
``GET /cases/{id}/compliance`` of its range (its ``X-Report-Data-SHA256`` header): equal means
the stored facts are still the ones printed. ``document_sha256`` is the SHA-256 of the rendered
bytes (HTML or PDF), kept with the access-log entry of the read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Set

from pydantic import BaseModel

#: Fields of the report that say when it was made, not what it found.
VOLATILE = frozenset({"generated_at"})


def canonical_json(model: BaseModel, *, exclude: Set[str] = frozenset()) -> bytes:
    data = model.model_dump(mode="json", exclude=set(exclude))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def data_sha256(model: BaseModel, *, exclude: Set[str] = frozenset()) -> str:
    return hashlib.sha256(canonical_json(model, exclude=exclude)).hexdigest()


def report_sha256(report: BaseModel) -> str:
    """The data hash of a compliance report (its generation time left out)."""
    return data_sha256(report, exclude=VOLATILE)


def document_sha256(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()
