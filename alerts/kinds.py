"""Alert kinds, their default severities, and how engine events and device conditions map to them.

Pure. A geofence rule kind plus the event's reason decides the alert kind (``stay_outside`` with
reason ``crossing`` is a crossed exclusion zone, any zoned rule with ``overdue_return`` an overdue
return from leave); a case rule's own severity, when set, overrides the kind's default.
"""

from __future__ import annotations

from enum import StrEnum

from geofence.models import RuleKind


class Severity(StrEnum):
    """How urgent an alert is; each has an acknowledgement SLA (settings)."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


class AlertKind(StrEnum):
    """What an alert is about (the issue's list)."""

    left_permitted_area = "left_permitted_area"
    entered_exclusion_zone = "entered_exclusion_zone"
    crossed_exclusion_zone = "crossed_exclusion_zone"
    curfew_broken = "curfew_broken"
    too_close_to_protected_person = "too_close_to_protected_person"
    overdue_return = "overdue_return"
    no_signal = "no_signal"
    location_uncertain = "location_uncertain"
    strap_opened = "strap_opened"
    battery_critical = "battery_critical"
    powered_off = "powered_off"
    impossible_movement = "impossible_movement"


DEFAULT_SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.left_permitted_area: Severity.high,
    AlertKind.entered_exclusion_zone: Severity.critical,
    AlertKind.crossed_exclusion_zone: Severity.critical,
    AlertKind.curfew_broken: Severity.high,
    AlertKind.too_close_to_protected_person: Severity.critical,
    AlertKind.overdue_return: Severity.high,
    AlertKind.no_signal: Severity.high,
    AlertKind.location_uncertain: Severity.low,
    AlertKind.strap_opened: Severity.critical,
    AlertKind.battery_critical: Severity.medium,
    AlertKind.powered_off: Severity.high,
    AlertKind.impossible_movement: Severity.high,
}

_POSITIONAL: dict[RuleKind, AlertKind] = {
    RuleKind.STAY_INSIDE: AlertKind.left_permitted_area,
    RuleKind.STAY_OUTSIDE: AlertKind.entered_exclusion_zone,
    RuleKind.BE_INSIDE_DURING: AlertKind.curfew_broken,
    RuleKind.KEEP_AWAY_FROM: AlertKind.too_close_to_protected_person,
}


def violation_kind(rule_kind: RuleKind, reason: str) -> AlertKind:
    """The alert kind of a violation episode of a positional rule opened for ``reason``."""
    if reason == "overdue_return":
        return AlertKind.overdue_return
    if rule_kind is RuleKind.STAY_OUTSIDE and reason == "crossing":
        return AlertKind.crossed_exclusion_zone
    try:
        return _POSITIONAL[rule_kind]
    except KeyError:
        raise ValueError(f"{rule_kind} is not a positional rule") from None


def severity_of(kind: AlertKind, rule_severity: str | None = None) -> Severity:
    """The rule's own severity when it has one, else the kind's default."""
    if rule_severity:
        return Severity(rule_severity)
    return DEFAULT_SEVERITY[kind]


def uncertain_severity(rule_severity: Severity) -> Severity:
    """A "location uncertain" condition of a critical rule is medium, of any other rule low."""
    return Severity.medium if rule_severity is Severity.critical else Severity.low


def sla_thresholds_s(sla_s: float, factor: float) -> tuple[float, float]:
    """Seconds after opening of the first and the second escalation of an unacknowledged alert."""
    return sla_s, sla_s * factor
