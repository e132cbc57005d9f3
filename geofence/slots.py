"""The engine's memory of every (case, rule) slot: a stored ``RuleState`` plus what moved since.

The hysteresis is a pure function of frozen ``RuleState``s, and building new ones observation by
observation is the engine's dearest step. So the commonest observations only record what they
change beside the stored state, and the slot's ``RuleState`` is built from both when it is asked
for (``materialise``): by ``state`` / ``export_states``, or before the general path steps the slot.
What is recorded, per slot:

* ``wm``: the watermark (epoch ms, ``NEVER_MS`` for none), moved by every in-order observation
  (an array, so the engine moves the watermarks of quiet pairs in one operation);
* ``pending``: a pending uncertain run of one fix, ``(t_ms, device_id, seq)``, started on a quiet
  state by an uncertain fix that does not open "location uncertain" by itself, and ended by the
  next certain-compliant fix (``move``), the commonest moves near a boundary;
* ``extra_evidence``: violating fixes appended as evidence to an open violation (``move``).

The result is exactly the state ``hysteresis.update`` would have built observation by observation
(``tests/unit/geofence/test_slots.py``). ``steady`` (an array) is ``hysteresis.steady_verdicts``
of each slot's current state; ``form`` says which moves it admits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geofence.hysteresis import opens_with_one_fix, steady_verdicts
from geofence.models import FixRef, Rule, Verdict, utc_from_ms
from geofence.state import Condition, RuleState, Run, evolve
from geofence.tracks import NEVER_MS

OTHER, QUIET, PENDING, EVIDENCE = 0, 1, 2, 3
"""Codes of ``form``: QUIET is a quiet state without a permit (``steady_verdicts`` compliant and
not applicable), PENDING the same with a one-fix pending uncertain run recorded beside it,
EVIDENCE an open violation without a clearing run or a permit; OTHER admits no move."""
_C, _V, _U = int(Verdict.COMPLIANT), int(Verdict.VIOLATING), int(Verdict.UNCERTAIN)
_QUIET_STEADY = steady_verdicts(RuleState(0, 0))


class SlotStates:
    """Current states of the slots ``keys`` (``(case_id, rule_id)`` of ``rules``, in slot order)."""

    def __init__(self, keys: Sequence[tuple[int, int]], rules: Sequence[Rule]) -> None:
        n = len(keys)
        self.keys = keys
        self.stored: list[RuleState | None] = [None] * n
        self.wm = np.full(n, NEVER_MS, dtype=np.int64)
        self.steady = np.full(n, _QUIET_STEADY, dtype=np.int8)
        self.form = [QUIET] * n
        self.pends = [not opens_with_one_fix(r.grace) for r in rules]
        """Per slot: one uncertain fix starts a pending run (rather than opening at once)."""
        self.pending: dict[int, tuple[int, str, int]] = {}
        self.extra_evidence: dict[int, int] = {}

    def store(self, slot: int, state: RuleState) -> None:
        """Make ``state`` the slot's state (nothing is recorded beside it any more)."""
        self.stored[slot] = state
        self.wm[slot] = NEVER_MS if state.watermark_ms is None else state.watermark_ms
        steady = steady_verdicts(state)
        self.steady[slot] = steady
        if steady == _QUIET_STEADY:
            self.form[slot] = QUIET
        elif steady and state.condition is Condition.VIOLATING:
            self.form[slot] = EVIDENCE
        else:
            self.form[slot] = OTHER
        self.pending.pop(slot, None)
        self.extra_evidence.pop(slot, None)

    def current(self, slot: int, *, watermark: bool = True) -> RuleState:
        """The slot's state; with ``watermark=False`` its watermark may be stale (for callers,
        like ``hysteresis.update`` and ``hold``, that set it before reading it)."""
        stored = self.stored[slot]
        if watermark or stored is None or slot in self.pending or slot in self.extra_evidence:
            return self.materialise(slot)
        return stored

    def materialise(self, slot: int) -> RuleState:
        """The slot's ``RuleState``: the stored one with what was recorded beside it."""
        wm = int(self.wm[slot])
        watermark = None if wm == NEVER_MS else wm
        stored = self.stored[slot]
        if stored is None:
            stored = RuleState(*self.keys[slot])
        pending = self.pending.get(slot)
        if pending is not None:
            t, device_id, seq = pending
            run = Run(1, t, t, (FixRef(device_id, utc_from_ms(t), seq),))
            return evolve(stored, watermark_ms=watermark, uncertain_run=run)
        extra = self.extra_evidence.get(slot)
        if extra is not None:
            count = stored.evidence_count + extra
            return evolve(stored, watermark_ms=watermark, evidence_count=count)
        if stored.watermark_ms == watermark:
            return stored
        return evolve(stored, watermark_ms=watermark)

    def move(self, slot: int, verdict: int, t_ms: int, device_id: str, seq: int) -> bool:
        """Record the one in-order observation (no leave permit) of a slot in this batch, of fix
        ``(device_id, t_ms, seq)``, if it is a move the slot admits; False when it is not.

        On a QUIET slot an uncertain fix that does not open by itself starts a pending run; on a
        PENDING slot a certain-compliant fix ends it (both as ``hysteresis.update``'s shortcut
        for pending uncertainty); on an EVIDENCE slot a violating fix adds one evidence (the
        caller emits ``hysteresis.evidence``'s event).
        """
        form = self.form[slot]
        if form == QUIET and verdict == _U and self.pends[slot]:
            self.pending[slot] = (t_ms, device_id, seq)
            self.form[slot], self.steady[slot] = PENDING, 0
        elif form == PENDING and verdict == _C:
            del self.pending[slot]
            self.form[slot], self.steady[slot] = QUIET, _QUIET_STEADY
        elif form == EVIDENCE and verdict == _V:
            self.extra_evidence[slot] = self.extra_evidence.get(slot, 0) + 1
        else:
            return False
        self.wm[slot] = t_ms
        return True
