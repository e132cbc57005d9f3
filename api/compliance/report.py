"""Rendering the printable report: one Jinja2 template (autoescaped) for the HTML page, and the
same page rendered to PDF by WeasyPrint. The HTML is self-contained: no script, no network, no
map tiles. CJK text uses the fonts the project installs from Debian (Noto Sans CJK from
fonts-noto-cjk, else WenQuanYi Zen Hei); WeasyPrint subsets them with HarfBuzz
(libharfbuzz-subset0), which keeps a PDF to about a second."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from api.compliance import charts, integrity
from api.compliance.document import AlertEvidence, Header, draw_maps
from api.compliance.i18n import Lang, words
from api.compliance.money import yuan
from api.compliance.service import ReportData

TEMPLATES = Path(__file__).with_name("templates")
COLOURS = {"green": "#1a7f37", "yellow": "#9a6700", "red": "#c62828"}


@cache
def environment() -> jinja2.Environment:
    """The template environment, built on first use (not at import)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    return env


@dataclass(frozen=True)
class Rendered:
    """A rendered document and the hash of the data it was built from."""

    body: str
    data_sha256: str


def render_html(
    data: ReportData,
    header: Header,
    alerts: list[AlertEvidence],
    lang: Lang,
    *,
    tooltips: bool = True,
) -> Rendered:
    """The whole printable page in ``lang``. ``tooltips``: each marker and day bar carries its
    time and figures as an SVG ``<title>`` (shown on hover in a browser); a page for the PDF
    leaves them out, as paper shows no tooltip and WeasyPrint styles every element it parses
    (hundreds of them on a year's report: about a tenth of the PDF's time)."""
    r = data.report
    tz = ZoneInfo(r.timezone)
    w = words(lang)

    def local(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    digest = integrity.report_sha256(r)
    share = "—" if r.coverage.share is None else f"{r.coverage.share:.1%}"
    template = environment().get_template("report.html.j2")
    body = template.render(
        r=r,
        h=header,
        t=w,
        lang=lang,
        local=local,
        maps=draw_maps(data, alerts, w),
        chart=charts.coverage_chart(r.coverage.days),
        colour=COLOURS[r.code.value],
        share=share,
        data_sha256=digest,
        tooltips=tooltips,
    )
    return Rendered(body, digest)


def render_pdf(html: str) -> bytes:
    """``html`` (a page of ``render_html``) as PDF bytes. CPU-bound: call it off the event loop."""
    # Imported here: loading Pango and the fonts is work for the first PDF, not for import.
    import weasyprint

    page = weasyprint.HTML(string=html, base_url=str(TEMPLATES), url_fetcher=_no_fetcher())
    return bytes(page.write_pdf())


@cache
def _no_fetcher() -> Any:
    """A WeasyPrint URL fetcher that fetches nothing: the PDF is made from the page alone, no
    file or network resource is read while rendering (the page is self-contained; this holds
    even if a future template forgot it)."""
    import weasyprint.urls

    class NoFetcher(weasyprint.urls.URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> object:
            raise ValueError(f"the report loads no resource ({url})")

    return NoFetcher(allowed_protocols=())
