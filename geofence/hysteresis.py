"""Hysteresis and episodes of one (case, rule): pure ``update(state, obs) -> (state, events)``.

Semantics (see ``Grace`` for the thresholds):

* Only certain observations count. A run of consecutive certain-violating fixes opens an episode
  when it meets the open grace; the episode starts at the run's first fix. While it is open, each
  violating fix is evidence; a run of certain-compliant fixes meeting the clear grace closes it,
  ending at the first fix of that run. Uncertain fixes neither extend nor break a run.
* While compliant, a run of uncertain fixes meeting the open grace raises a "location uncertain"
  condition (its own, lower-severity episode) that clears after the clear grace of certain fixes,
  or when a violation opens.
* A not-applicable observation (outside the schedule or validity, suspended by a permit, no recent
  position of the protected person) closes whatever is open and forgets the runs.
* Leave permits: an observation covered by a permit remembers it; the first observation no longer
  covered makes the return due unless it is certainly compliant, a certain-compliant fix settles
  it, and an episode opened while it is due carries the reason ``overdue_return``. A permit
  cancelled during its window ends at the cancellation (the engine is given that end).

Late observations (older than the watermark) never go through ``update``: ``late_findings`` looks
for violating runs among them and reports those not already covered by an episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from geofence.events import EventKind, GeofenceEvent
from geofence.models import FixRef, Grace, Rule, Verdict, utc_from_ms
from geofence.state import EVIDENCE_CAP, RECENT_EPISODES, Condition, RuleState, Run, evolve


@dataclass(frozen=True, slots=True)
class Observation:
    """What one fix says about one rule, at fix time ``t_ms`` (epoch ms).

    ``refs`` is the evidence: the fix itself, preceded by the previous fix for a crossing.
    ``permit`` is ``(permit_id, valid_to ms)`` when a leave permit covers this fix.
    """

    t_ms: int
    verdict: Verdict
    refs: tuple[FixRef, ...]
    reason: str = ""
    permit: tuple[int, int] | None = None


def _opens(run: Run | None, grace: Grace) -> bool:
    return (
        run is not None
        and run.count >= grace.open_after_fixes
        and (run.span_s >= grace.open_after_s)
    )


def _clears(run: Run | None, grace: Grace) -> bool:
    return (
        run is not None
        and run.count >= grace.clear_after_fixes
        and (run.span_s >= grace.clear_after_s)
    )


def _grow(run: Run | None, obs: Observation) -> Run:
    return Run.start(obs.t_ms, obs.refs) if run is None else run.extend(obs.t_ms, obs.refs)


def _remember(state: RuleState, start_ms: int, end_ms: int) -> tuple[tuple[int, int], ...]:
    return (*state.recent, (start_ms, end_ms))[-RECENT_EPISODES:]


def _event(rule: Rule, kind: EventKind, start_ms: int, **extra: object) -> GeofenceEvent:
    return GeofenceEvent(
        kind=kind,
        case_id=rule.case_id,
        rule_id=rule.rule_id,
        rule_kind=rule.kind,
        severity=rule.severity,
        start=utc_from_ms(start_ms),
        **extra,  # type: ignore[arg-type]
    )


def _close(state: RuleState, rule: Rule, end_ms: int, reason: str) -> list[GeofenceEvent]:
    """Events that close the open violation or uncertainty of ``state`` at ``end_ms``."""
    if state.episode_start_ms is None:
        return []
    kind = (
        EventKind.EPISODE_CLEARED
        if state.condition is Condition.VIOLATING
        else EventKind.UNCERTAIN_CLEARED
    )
    return [_event(rule, kind, state.episode_start_ms, end=utc_from_ms(end_ms), reason=reason)]


def _reset(state: RuleState, closed_violation_end: int | None) -> RuleState:
    recent = state.recent
    if closed_violation_end is not None and state.episode_start_ms is not None:
        recent = _remember(state, state.episode_start_ms, closed_violation_end)
    return evolve(
        state,
        condition=Condition.COMPLIANT,
        episode_start_ms=None,
        episode_reason="",
        evidence_count=0,
        violating_run=None,
        uncertain_run=None,
        clearing_run=None,
        recent=recent,
    )


def _with_permit(state: RuleState, obs: Observation) -> RuleState:
    if obs.permit is not None:
        return evolve(state, permit=obs.permit, return_due=None)
    if state.permit is not None:
        # The first observation after the permit: back already (certainly compliant) settles
        # the return at once, so leaving again later is a new departure, not an overdue return.
        due = None if obs.verdict is Verdict.COMPLIANT else state.permit
        return evolve(state, permit=None, return_due=due)
    if obs.verdict is Verdict.COMPLIANT and state.return_due is not None:
        return evolve(state, return_due=None)
    return state


def update(state: RuleState, obs: Observation, rule: Rule) -> tuple[RuleState, list[GeofenceEvent]]:
    """Apply one in-order observation of ``rule`` to its state; return the new state and events."""
    quick = _pending_uncertainty(state, obs, rule)
    if quick is None:
        quick = _clearing_uncertainty(state, obs, rule)
    return step(state, obs, rule) if quick is None else quick


def step(state: RuleState, obs: Observation, rule: Rule) -> tuple[RuleState, list[GeofenceEvent]]:
    """``update`` by the general rules, every case (``update`` takes shortcuts first)."""
    s = _with_permit(evolve(state, watermark_ms=obs.t_ms), obs)
    grace = rule.grace
    verdict = obs.verdict
    if verdict is Verdict.NOT_APPLICABLE:
        violating = s.condition is Condition.VIOLATING
        events = _close(s, rule, obs.t_ms, obs.reason)
        return _reset(s, obs.t_ms if violating else None), events

    if s.condition is Condition.VIOLATING:
        if verdict is Verdict.VIOLATING:
            start = s.episode_start_ms if s.episode_start_ms is not None else obs.t_ms
            ev = _event(rule, EventKind.EVIDENCE_APPENDED, start)
            ev = replace(ev, evidence=obs.refs, reason=obs.reason)
            return evolve(s, clearing_run=None, evidence_count=s.evidence_count + 1), [ev]
        if verdict is Verdict.COMPLIANT:
            run = _grow(s.clearing_run, obs)
            if _clears(run, grace):
                return _reset(s, run.first_ms), _close(s, rule, run.first_ms, "returned")
            return evolve(s, clearing_run=run), []
        return s, []

    uncertain = s.condition is Condition.UNCERTAIN
    if verdict is Verdict.VIOLATING:
        run = _grow(s.violating_run, obs)
        clearing = _grow(s.clearing_run, obs) if uncertain else None
        if _opens(run, grace):
            events = _close(s, rule, obs.t_ms, "violation") if uncertain else []
            overdue = s.return_due
            events.append(
                _event(
                    rule,
                    EventKind.EPISODE_OPENED,
                    run.first_ms,
                    reason="overdue_return" if overdue else obs.reason,
                    evidence=run.refs,
                    permit_id=overdue[0] if overdue else None,
                )
            )
            opened = evolve(
                _reset(s, None),
                condition=Condition.VIOLATING,
                episode_start_ms=run.first_ms,
                episode_reason="overdue_return" if overdue else obs.reason,
                evidence_count=run.count,
            )
            return opened, events
        s = evolve(s, violating_run=run, uncertain_run=None, clearing_run=clearing)
        if uncertain and _clears(clearing, grace):
            return evolve(_reset(s, None), violating_run=run), _close(s, rule, obs.t_ms, "resolved")
        return s, []

    if verdict is Verdict.COMPLIANT:
        s = evolve(s, violating_run=None, uncertain_run=None)
        if not uncertain:
            return s, []
        clearing = _grow(s.clearing_run, obs)
        if _clears(clearing, grace):
            return _reset(s, None), _close(s, rule, obs.t_ms, "resolved")
        return evolve(s, clearing_run=clearing), []

    if uncertain:
        return evolve(s, clearing_run=None), []
    pending = _grow(s.uncertain_run, obs)
    if _opens(pending, grace):
        opened = evolve(
            s,
            condition=Condition.UNCERTAIN,
            episode_start_ms=pending.first_ms,
            uncertain_run=None,
            clearing_run=None,
        )
        ev = _event(rule, EventKind.UNCERTAIN_OPENED, pending.first_ms, evidence=pending.refs)
        return opened, [ev]
    return evolve(s, uncertain_run=pending), []


def _pending_uncertainty(
    state: RuleState, obs: Observation, rule: Rule
) -> tuple[RuleState, list[GeofenceEvent]] | None:
    """``step``'s result, with one new state, for the commonest moves near a boundary: a
    compliant state with no permit and no violating or clearing run sees an uncertain fix (the
    pending run grows, or opens "location uncertain"), or a certain-compliant one (a pending run
    ends). None for anything else, which takes the general path."""
    if (
        state.condition is not Condition.COMPLIANT
        or state.violating_run is not None
        or state.clearing_run is not None
        or obs.permit is not None
        or state.permit is not None
        or state.return_due is not None
    ):
        return None
    if obs.verdict is Verdict.COMPLIANT:
        return evolve(state, watermark_ms=obs.t_ms, uncertain_run=None), []
    if obs.verdict is not Verdict.UNCERTAIN:
        return None
    run = _grow(state.uncertain_run, obs)
    if not _opens(run, rule.grace):
        return evolve(state, watermark_ms=obs.t_ms, uncertain_run=run), []
    opened = evolve(
        state,
        watermark_ms=obs.t_ms,
        condition=Condition.UNCERTAIN,
        episode_start_ms=run.first_ms,
        uncertain_run=None,
        clearing_run=None,
    )
    return opened, [_event(rule, EventKind.UNCERTAIN_OPENED, run.first_ms, evidence=run.refs)]


def _clearing_uncertainty(
    state: RuleState, obs: Observation, rule: Rule
) -> tuple[RuleState, list[GeofenceEvent]] | None:
    """``step``'s result, with one new state, for a certain-compliant fix on an open "location
    uncertain" condition without permits: the clearing run grows, and clears the condition
    when it meets the clear grace. None for anything else."""
    if (
        state.condition is not Condition.UNCERTAIN
        or obs.verdict is not Verdict.COMPLIANT
        or obs.permit is not None
        or state.permit is not None
        or state.return_due is not None
    ):
        return None
    clearing = _grow(state.clearing_run, obs)
    if not _clears(clearing, rule.grace):
        changed = evolve(
            state,
            watermark_ms=obs.t_ms,
            violating_run=None,
            uncertain_run=None,
            clearing_run=clearing,
        )
        return changed, []
    cleared = _reset(evolve(state, watermark_ms=obs.t_ms), None)
    return cleared, _close(state, rule, obs.t_ms, "resolved")


_QUIET_STEADY = (1 << Verdict.COMPLIANT) | (1 << Verdict.NOT_APPLICABLE)
_OPEN_STEADY = 1 << Verdict.UNCERTAIN


def steady_verdicts(state: RuleState) -> int:
    """Bit mask (bit ``1 << verdict``) of the verdicts that would change only the watermark.

    It holds for an in-order observation without a leave permit: a quiet state ignores compliant
    and not-applicable fixes; an open violation or uncertainty without a clearing run in progress
    ignores uncertain ones. The engine moves the watermark of such pairs in one array operation
    instead of stepping ``update``.
    """
    if state.permit is not None or state.return_due is not None:
        return 0
    if state.quiet:
        return _QUIET_STEADY
    if state.clearing_run is None and state.condition is not Condition.COMPLIANT:
        return _OPEN_STEADY
    return 0


def hold(
    state: RuleState, verdict: Verdict, observations: Sequence[Observation], rule: Rule
) -> tuple[RuleState, list[GeofenceEvent]] | None:
    """``update`` over in-order observations that all confirm the current condition, or None.

    A shortcut with the same result as applying ``update`` to each observation and merging the
    evidence events: an uncertain condition seeing only uncertain fixes changes only its
    watermark; an open violation seeing only violating fixes gains one evidence event. Returns
    None when the observations could change more (a pending clearing run, a permit involved).
    """
    if state.clearing_run is not None or state.permit is not None or state.return_due is not None:
        return None
    last = observations[-1].t_ms
    if state.condition is Condition.UNCERTAIN and verdict is Verdict.UNCERTAIN:
        return evolve(state, watermark_ms=last), []
    if state.condition is Condition.VIOLATING and verdict is Verdict.VIOLATING:
        refs = tuple(ref for obs in observations for ref in obs.refs)
        event = _evidence(state, rule, refs, observations[0].reason, last)
        count = state.evidence_count + len(observations)
        return evolve(state, watermark_ms=last, evidence_count=count), [event]
    return None


def evidence(state: RuleState, obs: Observation, rule: Rule) -> GeofenceEvent:
    """The event of ``hold`` for the one in-order observation ``obs`` (violating, no permit) on
    an open violation without a clearing run or permit; the state only gains one evidence."""
    return _evidence(state, rule, obs.refs, obs.reason, obs.t_ms)


def _evidence(
    state: RuleState, rule: Rule, refs: tuple[FixRef, ...], reason: str, last_ms: int
) -> GeofenceEvent:
    if len(refs) > EVIDENCE_CAP:
        refs = (*refs[: EVIDENCE_CAP - 1], refs[-1])
    start = state.episode_start_ms if state.episode_start_ms is not None else last_ms
    return _event(rule, EventKind.EVIDENCE_APPENDED, start, evidence=refs, reason=reason)


def opens_with_one_fix(grace: Grace) -> bool:
    """True when a run of a single fix already meets ``grace``'s open thresholds."""
    return _opens(Run(1, 0, 0, ()), grace)


def late_findings(
    state: RuleState, late: Sequence[Observation], rule: Rule
) -> tuple[RuleState, list[GeofenceEvent]]:
    """Report violations found only in late observations (sorted by fix time).

    A run of certain-violating late fixes (uncertain ones skipped, anything else breaking it) that
    meets the open grace and overlaps no episode the state knows is reported once as a
    ``late_violation`` with its real span. The current condition and runs are never touched.
    """
    events: list[GeofenceEvent] = []
    recent = state.recent
    run: Run | None = None

    def flush(run: Run | None) -> None:
        nonlocal recent
        if not _opens(run, rule.grace) or run is None:
            return
        if evolve(state, recent=recent).covers(run.first_ms, run.last_ms):
            return
        events.append(
            _event(
                rule,
                EventKind.LATE_VIOLATION,
                run.first_ms,
                end=utc_from_ms(run.last_ms),
                evidence=run.refs,
                reason="late",
            )
        )
        recent = (*recent, (run.first_ms, run.last_ms))[-RECENT_EPISODES:]

    for obs in late:
        if obs.verdict is Verdict.VIOLATING:
            run = _grow(run, obs)
        elif obs.verdict is not Verdict.UNCERTAIN:
            flush(run)
            run = None
    flush(run)
    return evolve(state, recent=recent), events


def late_upload(
    state: RuleState, late: list[Observation], rule: Rule, events: list[GeofenceEvent]
) -> RuleState:
    """``late_findings`` over one upload's consecutive late observations (sorted here by fix
    time); its events are appended to ``events``."""
    late.sort(key=lambda o: (o.t_ms, o.refs[-1].seq))
    state, produced = late_findings(state, late, rule)
    events.extend(produced)
    return state
