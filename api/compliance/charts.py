"""The per-day coverage bar chart as bars in pixels, for ``templates/report.html.j2``. Pure.

One bar per day, its height the share of expected reporting slots covered that day (0..1); a
day with nothing expected (not monitored) has no bar and is marked as such. Bars below the
report's thresholds are coloured as the score reads them (95% and 80%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from api.compliance.models import DayCoverage

WIDTH, HEIGHT = 700, 120
#: Room under the bars for day labels, and left of them for the axis.
BOTTOM, LEFT = 16, 30
GOOD, FAIR = 0.95, 0.80
#: Most day labels under the bars (a year of days would be unreadable).
MAX_LABELS = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    base: float
    bars: list[Bar]


def coverage_chart(days: Sequence[DayCoverage]) -> Chart | None:
    """Bars for ``days`` in order; None when there is no day."""
    if not days:
        return None
    plot_h = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / len(days)
    w = max(step * 0.8, 0.5)
    label_every = max(1, math.ceil(len(days) / MAX_LABELS))
    bars = []
    for i, d in enumerate(days):
        share = d.share
        h = 0.0 if share is None else max(0.0, min(1.0, share)) * (plot_h - 4)
        css = (
            "day-none"
            if share is None
            else "day-good"
            if share >= GOOD
            else "day-fair"
            if share >= FAIR
            else "day-poor"
        )
        pct = "—" if share is None else f"{share:.0%}"
        bars.append(
            Bar(
                x=round(LEFT + i * step, 2),
                y=round(plot_h - h, 2),
                w=round(w, 2),
                h=round(h, 2),
                css=css,
                title=f"{d.day.isoformat()} {d.covered_slots}/{d.expected_slots} {pct}",
                label=d.day.strftime("%m-%d") if i % label_every == 0 else "",
            )
        )
    return Chart(WIDTH, HEIGHT, LEFT, float(plot_h), bars)
