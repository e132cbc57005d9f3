"""The printable report as a document: read (audited) and build the report, render it to HTML
or PDF, and record the document's SHA-256 on the access-log entry of the read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

import asyncpg
from starlette.concurrency import run_in_threadpool

from api.auth.models import Principal
from api.compliance import document, integrity, report, service
from api.compliance.i18n import Lang
from api.params import TimeRange
from config.settings import ApiSettings
from store import reports

Format = Literal["html", "pdf"]


@dataclass(frozen=True)
class Document:
    body: bytes
    document_sha256: str
    data_sha256: str


async def produce(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    api: ApiSettings,
    case_id: int,
    rng: TimeRange,
    purpose: str,
    fmt: Format,
    lang: Lang,
) -> Document:
    """The rendered report; call inside a transaction so the access-log entry and the hash on
    it commit together (or not at all when rendering fails)."""
    data = await service.build(
        conn=conn, principal=principal, api=api, case_id=case_id, rng=rng, purpose=purpose,
        fmt=fmt,
    )  # fmt: skip
    header = await document.load_header(
        conn=conn, principal=principal, case_id=case_id, purpose=purpose
    )
    alerts = await document.load_evidence(conn=conn, case_id=case_id, rng=rng)
    # Drawing and WeasyPrint are CPU-bound: off the event loop, so other requests go on.
    page = await run_in_threadpool(
        partial(report.render_html, tooltips=fmt == "html"), data, header, alerts, lang
    )
    if fmt == "pdf":
        body = await run_in_threadpool(report.render_pdf, page.body)
    else:
        body = page.body.encode()
    digest = integrity.document_sha256(body)
    await conn.execute(reports.SET_DOCUMENT_HASH, data.access_id, digest)
    return Document(body, digest, page.data_sha256)
