"""The watchdog: runs on time, not on pings. Each round (leader only): open "no signal" for
devices silent beyond their case's limit, clear it for devices heard from since (backstop of the
ingester), and escalate open alerts past their severity's SLA.

A case's limit is its no_signal rule that applies at the round's time, if any (its
``no_signal_after_s``, severity, or ``enabled: false``; off while a permit naming it holds),
else ``cases.no_signal_limit_s`` (``geofence.device`` has the semantics). The rules are reloaded
when the configuration version moves; which one applies is judged at every round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alerts.conditions import ConditionState, episode_key
from alerts.episodes import Action, AlertOp
from alerts.kinds import AlertKind, Severity, severity_of, sla_thresholds_s
from alerts.leader import Leadership
from alerts.looping import LoopService
from alerts.metrics import AlertMetrics
from alerts.record import apply_ops
from alerts.ruleset import no_signal_rules
from config.settings import AlertsSettings
from geofence.device import DeviceRule, applicable
from geofence.models import RuleKind
from store import alert_config
from store import evaluation as eval_sql
from store import watchdog as sql

log = logging.getLogger(__name__)


def no_signal_overrides(
    rules: Mapping[int, Sequence[DeviceRule]], now: datetime
) -> tuple[list[int], list[float | None], list[str | None], list[int], list[bool]]:
    """The cases whose no_signal rule applies at ``now``, as the arrays ``SELECT_SILENT`` takes:
    case, limit (s; None: the case's own), severity (None: default), rule, enabled."""
    cases: list[int] = []
    limits: list[float | None] = []
    severities: list[str | None] = []
    rule_ids: list[int] = []
    enabled: list[bool] = []
    for case_id, case_rules in rules.items():
        rule = applicable(case_rules, RuleKind.NO_SIGNAL, now)
        if rule is not None:
            cases.append(case_id)
            limits.append(rule.threshold)
            severities.append(None if rule.severity is None else rule.severity.value)
            rule_ids.append(rule.rule_id)
            enabled.append(rule.enabled_at(now))
    return cases, limits, severities, rule_ids, enabled


def no_signal_op(row: Mapping[str, Any], now: datetime) -> tuple[AlertOp, ConditionState]:
    """The opening of a no-signal alert for a silent device (key derived from its last contact,
    so two watchdogs, or a retried round, name the same alert); severity and rule are those of
    the case's applicable no_signal rule, if any."""
    last_seen: datetime = row["last_seen"]
    key = episode_key(row["case_id"], AlertKind.no_signal, last_seen)
    silent_s = (now - last_seen).total_seconds()
    limit_s = float(row["limit_s"])
    evidence: dict[str, Any] = {
        "device_id": row["device_id"], "last_seen_at": last_seen.isoformat(),
        "limit_s": limit_s, "silent_s": round(silent_s, 1),
    }  # fmt: skip
    if row["rule_id"] is not None:
        evidence["rule_id"] = row["rule_id"]
    op = AlertOp(
        Action.open,
        episode_key=key,
        event_key=f"{key}:opened",
        case_id=row["case_id"],
        kind=AlertKind.no_signal,
        severity=severity_of(AlertKind.no_signal, row["severity"]),
        started_at=last_seen,
        at=now,
        device_id=row["device_id"],
        rule_id=row["rule_id"],
        evidence=(evidence,),
        data={"reason": f"no contact for {silent_s:.0f} s (limit {limit_s:g} s)"},
    )
    return op, ConditionState(row["device_id"], True, key, last_seen, last_seen)


class Watchdog(LoopService):
    """The timer loop; an async context manager (the loop runs between enter and exit)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        leadership: Leadership,
        settings: AlertsSettings,
        metrics: AlertMetrics,
    ) -> None:
        self.pool = pool
        self.leadership = leadership
        self.settings = settings
        self.metrics = metrics
        self.name = "watchdog"
        self.stale_after_s = max(settings.health_stale_s, 3 * settings.watchdog_interval_s)
        severities = [s.value for s in Severity]
        thresholds = [
            sla_thresholds_s(settings.sla_s(s), settings.second_escalation_factor)
            for s in severities
        ]
        self._sla = (severities, [t[0] for t in thresholds], [t[1] for t in thresholds])
        #: The no_signal rules per case, at the configuration version they were read at.
        self._rules: tuple[int, dict[int, list[DeviceRule]]] | None = None

    async def _loop(self) -> None:
        interval = self.settings.watchdog_interval_s
        while True:
            started = asyncio.get_running_loop().time()
            leading = await self.leadership.check()
            self.metrics.leader.set(1 if leading else 0)
            if leading:
                try:
                    await self.round()
                    self.beat()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("watchdog round failed", extra={"error": repr(exc)})
                except Exception:
                    log.exception("watchdog round failed")
            else:
                self.beat()
            spent = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(interval - spent, 0.05))

    async def round(self) -> None:
        """One round: no signal, returns, escalation (each in its own transaction)."""
        await self.open_no_signal()
        await self.clear_returned()
        await self.escalate()

    async def open_no_signal(self) -> int:
        """Open "no signal" for each silent device; returns how many were opened."""
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn:
            overrides = no_signal_overrides(await self._no_signal_rules(conn), now)
            candidates = await conn.fetch(sql.SELECT_SILENT, now, *overrides)
            if not candidates:
                return 0
            async with conn.transaction():
                devices = sorted({r["device_id"] for r in candidates})
                await conn.execute(eval_sql.LOCK_DEVICES, devices)
                silent = await conn.fetch(sql.SELECT_SILENT_OF, now, *overrides, devices)
                ops, states = [], []
                for row in silent:
                    op, state = no_signal_op(row, now)
                    ops.append(op)
                    states.append((row["case_id"], state))
                    limit_at = row["last_seen"] + timedelta(seconds=row["limit_s"])
                    self.metrics.no_signal_delay.observe((now - limit_at).total_seconds())
                await _save_conditions(conn, AlertKind.no_signal, states)
                units = {r["case_id"]: r["unit_id"] for r in silent}
                opened = await apply_ops(
                    conn, ops, unit_of_case=units, metrics=self.metrics,
                    realert_after_s=self.settings.realert_after_s,
                )  # fmt: skip
        return len(opened)

    async def _no_signal_rules(self, conn: asyncpg.Connection) -> dict[int, list[DeviceRule]]:
        """The no_signal rules per case, read again only when the configuration version moved."""
        version = await conn.fetchval(alert_config.SELECT_VERSION)
        if self._rules is None or self._rules[0] != version:
            rules, problems = no_signal_rules(await conn.fetch(sql.SELECT_NO_SIGNAL_RULES))
            for problem in problems:
                log.warning("no_signal rule left out", extra={"problem": problem})
            self._rules = (version, rules)
        return self._rules[1]

    async def clear_returned(self) -> int:
        """Clear open no-signal conditions of devices heard from since."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(sql.SELECT_RETURNED)
            if not rows:
                return 0
            ops, states = [], []
            for r in rows:
                seen: datetime = r["last_seen_at"]
                start_ms = int(r["episode_key"].rsplit(":", 1)[1])
                start = datetime.fromtimestamp(start_ms / 1000, UTC)
                ops.append(
                    AlertOp(
                        Action.clear, episode_key=r["episode_key"],
                        event_key=f"{r['episode_key']}:cleared", case_id=r["case_id"],
                        kind=AlertKind.no_signal, severity=severity_of(AlertKind.no_signal),
                        started_at=start, at=seen, device_id=r["device_id"],
                        evidence=({"device_id": r["device_id"], "received_at": seen.isoformat()},),
                    )
                )  # fmt: skip
                state = ConditionState(r["device_id"], False, r["episode_key"], start, seen)
                states.append((r["case_id"], state))
            await _save_conditions(conn, AlertKind.no_signal, states)
            found = await conn.fetch(sql.SELECT_CASE_UNITS, [r["case_id"] for r in rows])
            units = {r["id"]: r["unit_id"] for r in found}
            await apply_ops(
                conn, ops, unit_of_case=units, metrics=self.metrics,
                realert_after_s=self.settings.realert_after_s,
            )  # fmt: skip
        return len(rows)

    async def escalate(self) -> int:
        """Escalate alerts unacknowledged past their SLA; returns the timeline entries added."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(sql.ESCALATE, *self._sla)
        for r in rows:
            self.metrics.escalations.labels(str(r["level"])).inc()
        return len(rows)


async def _save_conditions(
    conn: asyncpg.Connection, kind: AlertKind, states: list[tuple[int, ConditionState]]
) -> None:
    if not states:
        return
    await conn.execute(
        eval_sql.UPSERT_CONDITIONS,
        [c for c, _ in states],
        [kind.value] * len(states),
        [s.device_id for _, s in states],
        [s.open for _, s in states],
        [s.episode_key for _, s in states],
        [s.since for _, s in states],
        [s.changed_at for _, s in states],
    )
