"""What the engine returns for a batch: its events and which (case, rule) states it touched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from geofence.events import EventKind, GeofenceEvent
from geofence.state import EVIDENCE_CAP

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch produced: events in (case, rule, fix time) order and what it touched.

    ``fixes`` counts distinct fixes, ``evaluations`` (fix, rule) pairs, ``late_pairs`` the pairs
    older than their rule's watermark.
    """

    events: list[GeofenceEvent]
    fixes: int
    evaluations: int
    late_pairs: int
    touched_slots: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    slot_keys: Sequence[tuple[int, int]] = ()

    @property
    def touched_keys(self) -> list[tuple[int, int]]:
        """The (case_id, rule_id) whose state this batch changed (at least the watermark)."""
        return [self.slot_keys[s] for s in np.unique(self.touched_slots)]


def coalesce(events: list[GeofenceEvent]) -> list[GeofenceEvent]:
    """Merge consecutive evidence events of one episode (keeping the first fixes and the last)."""
    out: list[GeofenceEvent] = []
    for event in events:
        last = out[-1] if out else None
        if (
            last is not None
            and event.kind is EventKind.EVIDENCE_APPENDED
            and last.kind is EventKind.EVIDENCE_APPENDED
            and last.case_id == event.case_id  # cheap necessary conditions of the key test
            and last.rule_id == event.rule_id
            and last.episode_key == event.episode_key
        ):
            merged = last.evidence + event.evidence
            if len(merged) > EVIDENCE_CAP:
                merged = (*merged[: EVIDENCE_CAP - 1], merged[-1])
            out[-1] = replace(last, evidence=merged)
            continue
        out.append(event)
    return out
