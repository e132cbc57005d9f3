"""Hashes that let a reader check a report was not altered. Pure.

``data_sha256`` is the SHA-256 of the report's data as canonical JSON: the JSON form of the
``ComplianceReport`` model, keys sorted, no whitespace, UTF-8 (non-ASCII kept as is). Anyone
holding the JSON the report was built from can recompute it. ``document_sha256`` is the SHA-256
of the rendered bytes (HTML or PDF), stored with the access-log entry of the read.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel


def canonical_json(model: BaseModel) -> bytes:
    data = model.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def data_sha256(model: BaseModel) -> str:
    return hashlib.sha256(canonical_json(model)).hexdigest()


def document_sha256(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()
