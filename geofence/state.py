"""Evaluation state of one (case, rule), persisted by the store as JSON (a jsonb column).

The state is what makes hysteresis and episodes survive a restart: the current condition, the open
episode, the runs counting toward opening or clearing, the watermark (latest fix time evaluated in
order, so later-arriving older fixes are recognised as late) and a short memory of recent episodes
(so late data already covered by an episode is not reported twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from geofence.models import FixRef, epoch_ms, utc_from_ms

EVIDENCE_CAP = 20
"""At most this many evidence fixes are kept per run and per event (the first ones)."""

RECENT_EPISODES = 16
"""How many past episode spans a state remembers to recognise late data already reported."""

STATE_VERSION = 1


class Condition(StrEnum):
    """Current condition of a rule for a case."""

    COMPLIANT = "compliant"
    VIOLATING = "violating"
    UNCERTAIN = "uncertain"


def _iso(ms: int | None) -> str | None:
    return None if ms is None else utc_from_ms(ms).isoformat()


def _ms(text: str | None) -> int | None:
    return None if text is None else epoch_ms(datetime.fromisoformat(text))


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive observations of one kind: count, first and last fix time (epoch ms), evidence."""

    count: int
    first_ms: int
    last_ms: int
    refs: tuple[FixRef, ...]

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last fix of the run."""
        return (self.last_ms - self.first_ms) / 1000.0

    def extend(self, t_ms: int, refs: tuple[FixRef, ...]) -> Run:
        """The run with one more observation at ``t_ms`` whose evidence is ``refs``."""
        kept = self.refs + refs[: max(0, EVIDENCE_CAP - len(self.refs))]
        return Run(self.count + 1, self.first_ms, t_ms, kept)

    @staticmethod
    def start(t_ms: int, refs: tuple[FixRef, ...]) -> Run:
        """A run of one observation."""
        return Run(1, t_ms, t_ms, refs[:EVIDENCE_CAP])

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "first": _iso(self.first_ms),
            "last": _iso(self.last_ms),
            "refs": [r.to_json() for r in self.refs],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        first, last = _ms(data["first"]), _ms(data["last"])
        if first is None or last is None:
            raise ValueError("a run needs its first and last fix times")
        return cls(
            int(data["count"]), first, last, tuple(FixRef.from_json(r) for r in data["refs"])
        )


def _permit_json(permit: tuple[int, int] | None) -> dict[str, Any] | None:
    return None if permit is None else {"permit_id": permit[0], "valid_to": _iso(permit[1])}


def _permit_from(data: Mapping[str, Any] | None) -> tuple[int, int] | None:
    if data is None:
        return None
    valid_to = _ms(data["valid_to"])
    assert valid_to is not None
    return int(data["permit_id"]), valid_to


def _run_json(run: Run | None) -> dict[str, Any] | None:
    return None if run is None else run.to_json()


def _run_from(data: Mapping[str, Any] | None) -> Run | None:
    return None if data is None else Run.from_json(data)


@dataclass(frozen=True, slots=True)
class RuleState:
    """State of one (case, rule). The initial state is ``RuleState(case_id, rule_id)``.

    ``episode_start_ms`` is the first violating (or uncertain) fix time of the open episode,
    ``violating_run`` counts toward opening a violation, ``uncertain_run`` toward a "location
    uncertain" condition, ``clearing_run`` toward clearing whichever is open. ``watermark_ms`` is
    the latest fix time evaluated in order; ``permit`` the ``(permit_id, valid_to ms)`` that covered
    the last observation and ``return_due`` the same for a permit whose return is not yet seen.
    ``recent`` holds ``(start_ms, end_ms)`` of past episodes, newest last.
    """

    case_id: int
    rule_id: int
    condition: Condition = Condition.COMPLIANT
    episode_start_ms: int | None = None
    episode_reason: str = ""
    evidence_count: int = 0
    violating_run: Run | None = None
    uncertain_run: Run | None = None
    clearing_run: Run | None = None
    watermark_ms: int | None = None
    permit: tuple[int, int] | None = None
    return_due: tuple[int, int] | None = None
    recent: tuple[tuple[int, int], ...] = ()

    @property
    def quiet(self) -> bool:
        """True when a certain-compliant fix would change nothing but the watermark."""
        return (
            self.condition is Condition.COMPLIANT
            and self.violating_run is None
            and self.uncertain_run is None
            and self.clearing_run is None
            and self.permit is None
            and self.return_due is None
        )

    def covers(self, first_ms: int, last_ms: int) -> bool:
        """True if ``[first_ms, last_ms]`` overlaps the open episode or a remembered past one."""
        spans = list(self.recent)
        if self.condition is Condition.VIOLATING and self.episode_start_ms is not None:
            spans.append((self.episode_start_ms, 2**62))
        return any(start <= last_ms and first_ms <= end for start, end in spans)

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible dict (times as ISO-8601 UTC strings) for the store's jsonb column."""
        return {
            "version": STATE_VERSION,
            "case_id": self.case_id,
            "rule_id": self.rule_id,
            "condition": self.condition.value,
            "episode_start": _iso(self.episode_start_ms),
            "episode_reason": self.episode_reason,
            "evidence_count": self.evidence_count,
            "violating_run": _run_json(self.violating_run),
            "uncertain_run": _run_json(self.uncertain_run),
            "clearing_run": _run_json(self.clearing_run),
            "watermark": _iso(self.watermark_ms),
            "permit": _permit_json(self.permit),
            "return_due": _permit_json(self.return_due),
            "recent": [{"start": _iso(s), "end": _iso(e)} for s, e in self.recent],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleState:
        """Inverse of ``to_json``."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported rule state version {data.get('version')!r}")
        recent = tuple((_ms(p["start"]), _ms(p["end"])) for p in data["recent"])
        return cls(
            case_id=int(data["case_id"]),
            rule_id=int(data["rule_id"]),
            condition=Condition(data["condition"]),
            episode_start_ms=_ms(data["episode_start"]),
            episode_reason=str(data["episode_reason"]),
            evidence_count=int(data["evidence_count"]),
            violating_run=_run_from(data["violating_run"]),
            uncertain_run=_run_from(data["uncertain_run"]),
            clearing_run=_run_from(data["clearing_run"]),
            watermark_ms=_ms(data["watermark"]),
            permit=_permit_from(data["permit"]),
            return_due=_permit_from(data["return_due"]),
            recent=tuple((s, e) for s, e in recent if s is not None and e is not None),
        )


class _Keep(Enum):
    """Sentinel of ``evolve``: keep the field's current value."""

    KEEP = 0


_KEEP = _Keep.KEEP
_new = object.__new__
_set = object.__setattr__


def evolve(
    state: RuleState,
    *,
    condition: Condition | _Keep = _KEEP,
    episode_start_ms: int | _Keep | None = _KEEP,
    episode_reason: str | _Keep = _KEEP,
    evidence_count: int | _Keep = _KEEP,
    violating_run: Run | _Keep | None = _KEEP,
    uncertain_run: Run | _Keep | None = _KEEP,
    clearing_run: Run | _Keep | None = _KEEP,
    watermark_ms: int | _Keep | None = _KEEP,
    permit: tuple[int, int] | _Keep | None = _KEEP,
    return_due: tuple[int, int] | _Keep | None = _KEEP,
    recent: tuple[tuple[int, int], ...] | _Keep = _KEEP,
) -> RuleState:
    """``dataclasses.replace(state, ...)`` for the fields the hysteresis changes, ~5x faster.

    The hysteresis builds a new state for every observation it steps, so this is on the hot
    path. ``RuleState`` has no ``__post_init__``, so filling its slots directly skips nothing;
    every field is written (a new field must be added here too: ``test_evolve_covers_fields``).
    """
    out: RuleState = _new(RuleState)
    _set(out, "case_id", state.case_id)
    _set(out, "rule_id", state.rule_id)
    _set(out, "condition", state.condition if condition is _KEEP else condition)
    _set(
        out,
        "episode_start_ms",
        state.episode_start_ms if episode_start_ms is _KEEP else episode_start_ms,
    )
    _set(out, "episode_reason", state.episode_reason if episode_reason is _KEEP else episode_reason)
    _set(out, "evidence_count", state.evidence_count if evidence_count is _KEEP else evidence_count)
    _set(out, "violating_run", state.violating_run if violating_run is _KEEP else violating_run)
    _set(out, "uncertain_run", state.uncertain_run if uncertain_run is _KEEP else uncertain_run)
    _set(out, "clearing_run", state.clearing_run if clearing_run is _KEEP else clearing_run)
    _set(out, "watermark_ms", state.watermark_ms if watermark_ms is _KEEP else watermark_ms)
    _set(out, "permit", state.permit if permit is _KEEP else permit)
    _set(out, "return_due", state.return_due if return_due is _KEEP else return_due)
    _set(out, "recent", state.recent if recent is _KEEP else recent)
    return out
