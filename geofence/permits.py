"""Leave permits by case: which approved permit covers a rule at a given fix time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from geofence.models import LeavePermit, RuleKind, epoch_ms

ALLOWS_DESTINATION = frozenset({RuleKind.STAY_INSIDE, RuleKind.BE_INSIDE_DURING})
"""Rule kinds for which a permit's destination zone is an extra allowed zone (others: suspended)."""


class PermitIndex:
    """Approved leave permits, looked up by (case, rule, fix time)."""

    def __init__(self, permits: Sequence[LeavePermit] = ()) -> None:
        by_case: dict[int, list[tuple[int, int, LeavePermit]]] = defaultdict(list)
        for p in permits:
            by_case[p.case_id].append((epoch_ms(p.valid_from), epoch_ms(p.valid_to), p))
        self._by_case = {c: sorted(v, key=lambda e: e[0]) for c, v in by_case.items()}
        self.case_ids: npt.NDArray[np.int64] = np.array(sorted(self._by_case), dtype=np.int64)

    def covering(self, case_id: int, rule_id: int, t_ms: int) -> tuple[LeavePermit, int] | None:
        """The permit covering ``rule_id`` of ``case_id`` at ``t_ms`` and its end (epoch ms)."""
        for start, end, permit in self._by_case.get(case_id, ()):
            if start <= t_ms < end and rule_id in permit.rule_ids:
                return permit, end
        return None
