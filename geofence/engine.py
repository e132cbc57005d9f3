"""The geofence engine: a batch of fixes in, new rule states and episode events out.

Each device's fixes are judged in *arrival order* (the order given); a fix not after its rule's
watermark (the newest fix time judged in order before it, in any batch) is *late*: it never moves
the current state, and one upload's consecutive late fixes are searched together for violating
runs (``hysteresis.late_upload``). Uploads never span batches, so the batching changes nothing
(``docs/architecture-notes.md``, "Order and lateness"). Stages of ``evaluate``:

1. group the batch per device in arrival order (``arrival``), dropping repeated fixes;
2. expand to (fix, rule) pairs through the cached ``RuleBook`` (rules of the fix's case);
3. relate every pair's fix disk to its zone (``pairs.relate_pairs``: stacked degree grids and a
   degree-box test for circles settle most pairs; the rest get the exact test per zone);
4. verdicts by rule kind, plus certain crossings of exclusion zones between a device's
   consecutive in-order fixes (within ``MAX_CROSSING_GAP_S``, ``MAX_CROSSING_SPEED_MPS``);
5. mark pairs not applicable (validity, schedule, missing protected position), apply permits;
6. split late pairs from in-order ones (``arrival.late_pairs``);
7. pairs that change only the watermark (``hysteresis.steady_verdicts``) move it in one array
   operation; a (case, rule) with one in-order pair whose move is one of the commonest is
   recorded beside its stored state (``slots.SlotStates.move``); every other runs the pure
   hysteresis over its pairs in arrival order (``hysteresis.update`` / ``late_upload``).

The engine holds state in memory between batches (``slots.SlotStates``); it does no I/O. The
caller loads persisted ``RuleState``s with ``load_states`` and persists
``export_states(result.touched_keys)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from geofence import arrival
from geofence import relation as rel
from geofence.batch import FixBatch
from geofence.crossings import MAX_CROSSING_GAP_S as MAX_CROSSING_GAP_S
from geofence.crossings import MAX_CROSSING_SPEED_MPS as MAX_CROSSING_SPEED_MPS
from geofence.crossings import crossings, order_of_rows
from geofence.events import GeofenceEvent
from geofence.hysteresis import Observation, hold, late_upload, update
from geofence.hysteresis import evidence as evidence_event
from geofence.models import Fix, LeavePermit, Rule, Verdict, Zone, epoch_ms
from geofence.pairs import (
    CROSSING,
    NOT_VALID,
    SCHEDULE,
    SUSPENDED,
    Pairs,
    observe_pairs,
    relate_pairs,
)
from geofence.permits import ALLOWS_DESTINATION, PermitIndex
from geofence.results import BatchResult, coalesce
from geofence.rulebook import RuleBook, ZoneCache, present, relate_zone
from geofence.schedule import active
from geofence.slots import SlotStates
from geofence.state import RuleState
from geofence.tracks import DeviceTracks, ProtectedPositions

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_C, _V, _U, _NA = (int(v) for v in Verdict)


class PreparedRules(NamedTuple):
    """Rules and zones with their rule book, built aside for ``GeofenceEngine.install``."""

    rules: tuple[Rule, ...]
    zones: dict[int, Zone]
    book: RuleBook


class GeofenceEngine:
    """Evaluates batches of fixes against the positional rules of their cases."""

    def __init__(self) -> None:
        self._cache = ZoneCache()
        self._book = RuleBook((), {}, self._cache)
        self._rules: tuple[Rule, ...] = ()
        self._zones: dict[int, Zone] = {}
        self._permits = PermitIndex()
        self._tracks = DeviceTracks()
        self._protected = ProtectedPositions()
        self._parked: dict[tuple[int, int], RuleState] = {}
        self._reset_slots()

    # -- configuration -------------------------------------------------------------------------

    def set_rules(self, rules: Sequence[Rule], zones: Iterable[Zone]) -> None:
        """Install rules and zones; rebuilds the assignment only if they changed.

        States of rules that stay are kept; states of removed rules are parked and come back if
        the rule does.
        """
        new_rules, new_zones = tuple(rules), {z.zone_id: z for z in zones}
        if new_rules == self._rules and new_zones == self._zones:
            return
        self.install(self.prepare_rules(new_rules, new_zones.values()))

    def prepare_rules(self, rules: Sequence[Rule], zones: Iterable[Zone]) -> PreparedRules:
        """The rule book of ``rules`` and ``zones``, built aside: nothing the engine evaluates
        with changes until ``install`` swaps it in (zones already compiled are reused)."""
        new_rules, new_zones = tuple(rules), {z.zone_id: z for z in zones}
        return PreparedRules(new_rules, new_zones, RuleBook(new_rules, new_zones, self._cache))

    def same_rules(self, rules: Sequence[Rule], zones: Iterable[Zone]) -> bool:
        """True when ``rules`` and ``zones`` are the ones installed."""
        return tuple(rules) == self._rules and {z.zone_id: z for z in zones} == self._zones

    def install(self, prepared: PreparedRules) -> None:
        """Swap ``book`` in, between batches: the current states move to their slots in the new
        book (states of rules it no longer has are parked), then every reference is replaced at
        once, so an evaluation never sees half of a rule change."""
        book = prepared.book
        parked = dict(self._parked)
        parked.update({(s.case_id, s.rule_id): s for s in self.export_states()})
        slots = SlotStates(book.keys, book.rules)
        for key in [k for k in parked if k in book.slot_of_key]:
            slots.store(book.slot_of_key[key], parked.pop(key))
        self._rules, self._zones = prepared.rules, prepared.zones
        self._book, self._slots, self._parked = book, slots, parked
        self._link_protected()

    def set_permits(self, permits: Sequence[LeavePermit]) -> None:
        """Install the approved leave permits (replacing the previous set)."""
        self._permits = PermitIndex(permits)

    def load_states(self, states: Iterable[RuleState]) -> None:
        """Load persisted states (e.g. after a restart); states of unknown rules are parked."""
        for state in states:
            key = (state.case_id, state.rule_id)
            slot = self._book.slot_of_key.get(key)
            if slot is None:
                self._parked[key] = state
                continue
            self._parked.pop(key, None)
            self._slots.store(slot, state)

    def observe_protected(self, fixes: Iterable[Fix]) -> None:
        """Record positions of protected persons' devices (they arrive on their own)."""
        if self._protected.observe(fixes):
            self._link_protected()

    # -- state access --------------------------------------------------------------------------

    def state(self, case_id: int, rule_id: int) -> RuleState:
        """The current state of one (case, rule)."""
        slot = self._book.slot_of_key.get((case_id, rule_id))
        if slot is None:
            return self._parked.get((case_id, rule_id), RuleState(case_id, rule_id))
        return self._slots.materialise(slot)

    def export_states(self, keys: Iterable[tuple[int, int]] | None = None) -> list[RuleState]:
        """States to persist: of ``keys``, or of every rule when None."""
        chosen = self._book.keys if keys is None else keys
        return [self.state(c, r) for c, r in chosen]

    def tracks_snapshot(
        self, devices: Iterable[str] | None = None
    ) -> dict[str, tuple[int, int, float, float, float]]:
        """The last in-order fix of ``devices`` (of every device when None), to persist so
        crossings survive a restart."""
        return self._tracks.snapshot(devices)

    def restore_tracks(self, snapshot: dict[str, tuple[int, int, float, float, float]]) -> None:
        """Inverse of ``tracks_snapshot``."""
        self._tracks.restore(snapshot)

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(
        self, fixes: FixBatch | Sequence[Fix], received_ms: IntArray | None = None
    ) -> BatchResult:
        """Evaluate a batch of fixes of many devices, each device's in arrival order (the order
        given); update states; return the events. ``received_ms`` (per fix, epoch ms) tells the
        uploads apart: the fixes of one device received together. Without it each device's
        fixes of a ``FixBatch`` are one upload; ``Fix`` values carry their own."""
        if isinstance(fixes, FixBatch):
            batch = fixes
        else:
            batch = FixBatch.from_fixes(fixes)
            if received_ms is None:
                received_ms = np.array([epoch_ms(f.received_at) for f in fixes], dtype=np.int64)
        if not len(batch):
            return BatchResult([], 0, 0, 0)
        received = np.zeros(len(batch), np.int64) if received_ms is None else received_ms
        dev = self._tracks.ids(batch.device_id)
        b, dev, received, distinct = arrival.by_device(batch, dev, received)
        radius = rel.disk_radius(b.acc)
        rows, slots = self._book.pairs(b.case_id)
        pairs = relate_pairs(
            self._book, self._protected, self._slot_protected, b, radius, rows, slots
        )
        if distinct:
            seq = order_of_rows(b, dev, self._tracks, distinct=True)
        else:
            seq = arrival.arrival_order(b.t_ms, dev, self._tracks.t)
        hit = crossings(b, radius, self._tracks, self._book, rows, slots, pairs.verdict == _C, seq)
        pairs.verdict[hit], pairs.reason[hit], pairs.crossing_prev[hit] = _V, CROSSING, True
        prev_row, in_order = seq.prev_row, seq.in_order
        self._applicability(b, pairs)
        late = arrival.late_pairs(b.t_ms[pairs.rows], pairs.slots, self._slots.wm)
        events, touched = self._advance(b, dev, prev_row, pairs, late, received)
        columns = (b.t_ms, b.seq, b.lon, b.lat, radius)
        self._tracks.advance(dev, *columns, in_order, distinct=distinct)
        late_pairs = int(np.count_nonzero(late))
        return BatchResult(
            coalesce(events), len(b), len(rows), late_pairs, touched, self._book.keys
        )

    def _applicability(self, b: FixBatch, pairs: Pairs) -> None:
        book = self._book
        timed = book.timed[pairs.slots].nonzero()[0]  # rules with a validity window or schedule
        if timed.size:
            t = b.t_ms[pairs.rows[timed]]
            s = pairs.slots[timed]
            invalid = timed[(t < book.valid_from[s]) | (t >= book.valid_to[s])]
            pairs.verdict[invalid] = _NA
            pairs.reason[invalid] = NOT_VALID
            sched = book.schedule_index[s]
            for k in present(sched):
                sub = (sched == k).nonzero()[0]
                idx = timed[sub]
                off = idx[~active(book.schedules[k], t[sub]) & (pairs.reason[idx] != NOT_VALID)]
                pairs.verdict[off] = _NA
                pairs.reason[off] = SCHEDULE
        if not len(self._permits.case_ids):
            return
        for i in np.isin(b.case_id[pairs.rows], self._permits.case_ids).nonzero()[0]:
            self._apply_permit(b, pairs, int(i))

    def _apply_permit(self, b: FixBatch, pairs: Pairs, i: int) -> None:
        row, slot = int(pairs.rows[i]), int(pairs.slots[i])
        rule = self._book.rules[slot]
        found = self._permits.covering(rule.case_id, rule.rule_id, int(b.t_ms[row]))
        if found is None:
            return
        permit, end = found
        pairs.permit[i], pairs.permit_end[i] = permit.permit_id, end
        if pairs.verdict[i] == _NA:
            return
        if permit.destination_zone_id is None or rule.kind not in ALLOWS_DESTINATION:
            pairs.verdict[i], pairs.reason[i] = _NA, SUSPENDED
            return
        zone = self._book.zone(permit.destination_zone_id)
        dest = relate_zone(self._cache, zone, b.lon[row], b.lat[row], float(b.acc[row]))
        if dest == rel.INSIDE:
            pairs.verdict[i] = _C
        elif dest == rel.UNCERTAIN and pairs.verdict[i] == _V:
            pairs.verdict[i] = _U

    def _advance(
        self,
        b: FixBatch,
        dev: IntArray,
        prev_row: IntArray,
        pairs: Pairs,
        late: BoolArray,
        received: IntArray,
    ) -> tuple[list[GeofenceEvent], IntArray]:
        """Move the slots through their pairs; returns the events and the touched slots.

        Pairs that change only the watermark move it in one array operation. A slot with one
        in-order pair and no permit then tries ``SlotStates.move`` (pending uncertainty starts or
        ends, evidence of an open violation); the rest run the hysteresis.
        """
        v, s = pairs.verdict, pairs.slots
        slots = self._slots
        trivial = ((slots.steady[s] >> v) & 1).astype(bool) & ~late & (pairs.permit < 0)
        slow = np.zeros(len(slots.steady), dtype=bool)
        slow[s[~trivial]] = True
        pair_slow = slow[s]
        fast = ~pair_slow
        np.maximum.at(slots.wm, s[fast], b.t_ms[pairs.rows[fast]])
        events: list[GeofenceEvent] = []
        idx = pair_slow.nonzero()[0]
        if not idx.size:
            return events, s
        idx = idx[np.argsort(s[idx], kind="stable")]  # by slot, then arrival
        gs, r = s[idx], pairs.rows[idx]
        group_slots, verdicts, lateness = gs.tolist(), v[idx].tolist(), late[idx].tolist()
        t_ms, names, seqs = b.t_ms[r].tolist(), b.device_id[r].tolist(), b.seq[r].tolist()
        permits = pairs.permit[idx].tolist()
        uploads = list(zip(names, received[r].tolist(), strict=True))
        edges = [0, *((gs[1:] != gs[:-1]).nonzero()[0] + 1).tolist(), idx.size]
        todo: list[tuple[int, int, bool]] = []  # (first, end, moved) of groups left, in order
        for lo, hi in itertools.pairwise(edges):
            moved = (
                hi - lo == 1
                and not lateness[lo]
                and permits[lo] < 0
                and slots.move(group_slots[lo], verdicts[lo], t_ms[lo], str(names[lo]), seqs[lo])
            )
            if not moved or verdicts[lo] == _V:
                todo.append((lo, hi, moved))
        if not todo:
            return events, s
        chosen = [k for lo, hi, _ in todo for k in range(lo, hi)]
        observations = iter(observe_pairs(b, prev_row, pairs, idx[chosen], self._tracks.ref))
        for lo, hi, moved in todo:
            slot = group_slots[lo]
            obs = list(itertools.islice(observations, hi - lo))
            if moved:
                stored = slots.stored[slot]
                assert stored is not None
                events.append(evidence_event(stored, obs[0], self._book.rules[slot]))
            else:
                events.extend(self._run_slot(slot, obs, lateness[lo:hi], uploads[lo:hi]))
        return events, s

    def _run_slot(
        self,
        slot: int,
        observations: list[Observation],
        lateness: list[bool],
        uploads: list[tuple[object, int]],
    ) -> list[GeofenceEvent]:
        """Step one (case, rule) through its observations of this batch, in arrival order.

        In-order observations step ``update``; the consecutive late observations of one upload
        go to ``late_findings`` together, in fix-time order, with the state as it was when they
        arrived. One in-order observation (the usual case) is one ``update``; ``hold``, the
        shortcut for several observations confirming the condition, gives the same result.
        """
        rule = self._book.rules[slot]
        if len(observations) == 1 and not lateness[0]:
            state, produced = update(
                self._slots.current(slot, watermark=False), observations[0], rule
            )
            self._slots.store(slot, state)
            return produced
        any_late = any(lateness)
        # update and hold set the watermark first, so only late findings need it materialised
        state = self._slots.current(slot, watermark=any_late)
        if not any_late and all(obs.permit is None for obs in observations):
            verdicts = {obs.verdict for obs in observations}
            if len(verdicts) == 1:
                held = hold(state, verdicts.pop(), observations, rule)
                if held is not None:
                    self._slots.store(slot, held[0])
                    return held[1]
        events: list[GeofenceEvent] = []
        late_obs: list[Observation] = []
        late_from: tuple[object, int] | None = None
        for obs, is_late, upload in zip(observations, lateness, uploads, strict=True):
            if late_obs and (not is_late or upload != late_from):
                state = late_upload(state, late_obs, rule, events)
                late_obs = []
            if is_late:
                late_obs.append(obs)
                late_from = upload
                continue
            state, produced = update(state, obs, rule)
            events.extend(produced)
        if late_obs:
            state = late_upload(state, late_obs, rule, events)
        self._slots.store(slot, state)
        return events

    # -- slot storage --------------------------------------------------------------------------

    def _reset_slots(self) -> None:
        self._slots = SlotStates(self._book.keys, self._book.rules)
        self._link_protected()

    def _link_protected(self) -> None:
        index = self._protected.index
        self._slot_protected = np.array(
            [index.get(p, -1) if p else -1 for p in self._book.protected_id], dtype=np.int64
        )
