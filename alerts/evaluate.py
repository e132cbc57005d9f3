"""Alert evaluation inside the ingest transaction: fixes, statuses and events in, alerts out.

For one batch, in the batch's transaction (so results commit with the fixes, or not at all):

1. reload the ruleset if its version moved (``alert_config_version``, bumped by triggers);
2. lock the batch's devices (``pg_advisory_xact_lock``, in device order) so two ingesters that
   got messages of one device evaluate them one after the other;
3. positional rules: load the (case, rule) states (``alerts.statecache``: only rows whose version
   differs from the cached copy are decoded) and the devices' last fixes, evaluate with the
   geofence engine (each device's fixes in arrival order), persist changed states and tracks;
4. device conditions (strap, battery, power, impossible movement, end of silence), judged by
   the case's device rules at the record's own time (``geofence.device``; a speed limit measures
   each fix from the one stored just before it): load the open conditions (all for cases with
   statuses, events, refused jumps or too fast fixes), step, persist;
5. apply the resulting alert operations (idempotent per episode and event key).

The engine's state is overwritten before each evaluation with what the database holds, so a
retried transaction or a batch another ingester handled before gives the same result."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np

from alerts import conditions as cond
from alerts.columns import FixKey, acc_m, fix_batch, fix_key, to_fix
from alerts.episodes import AlertOp, dedupe_evidence, from_geofence, from_transition
from alerts.kinds import AlertKind
from alerts.metrics import AlertMetrics
from alerts.record import apply_ops
from alerts.ruleset import ParsedZones, Ruleset, build_ruleset
from alerts.statecache import StateCache
from config.settings import AlertsSettings
from geofence.device import Position, Watch, implied_speed_mps, watch_of
from geofence.engine import GeofenceEngine
from geofence.models import Fix, RuleKind, epoch_ms
from geofence.tracks import NEVER_MS
from ingest.models import Event, Ping, Reject, Status
from store import alert_config
from store import evaluation as sql

log = logging.getLogger(__name__)

#: Closed assignments and ended permits are kept this long (s) for late fixes.
LATE_HORIZON_S = 30 * 86_400.0
#: A case's speed limit measures a fix from a previous fix at most this old (s).
PREVIOUS_FIX_HORIZON_S = 86_400.0


@dataclass(frozen=True)
class EvaluationInput:
    """What one ingest batch offers evaluation: accepted fixes (in arrival order: the engine
    judges each device's in that order, an upload being the fixes received together),
    statuses, events, and fixes refused as impossible jumps."""

    pings: Sequence[Ping]
    statuses: Sequence[Status] = ()
    events: Sequence[Event] = ()
    refused_jumps: Sequence[Reject] = ()

    def device_ids(self) -> list[str]:
        ids = {p.device_id for p in self.pings}
        ids.update(s.device_id for s in self.statuses)
        ids.update(e.device_id for e in self.events)
        ids.update(r.device_id for r in self.refused_jumps if r.device_id)
        return sorted(ids)


@dataclass
class Evaluator:
    """Holds the engine and the cached ruleset of one ingester process."""

    settings: AlertsSettings
    metrics: AlertMetrics
    engine: GeofenceEngine = field(default_factory=GeofenceEngine)
    ruleset: Ruleset | None = None
    states: StateCache = field(default_factory=StateCache)
    _zones: dict[int, asyncpg.Record] = field(default_factory=dict)
    _parsed: ParsedZones = field(default_factory=dict)  # zone rows (with versions) and zones

    def forget(self) -> None:
        """Drop the cached ruleset and states (after a failed evaluation, whose transaction
        was rolled back): the next evaluation reads them again."""
        self.ruleset = None
        self.states.clear()

    async def load_ruleset(self, conn: asyncpg.Connection) -> Ruleset:
        """The ruleset at the database's current version (reloaded only when it moved): only
        zones whose row moved are fetched and parsed; the rule book is built aside, swapped in."""
        version = await conn.fetchval(alert_config.SELECT_VERSION)
        if self.ruleset is not None and self.ruleset.version == version:
            return self.ruleset
        started = time.perf_counter()
        zones = await self._zone_rows(conn)
        rs = build_ruleset(
            version,
            cases=await conn.fetch(alert_config.SELECT_CASES),
            rules=await conn.fetch(alert_config.SELECT_RULES),
            zones=zones,
            permits=await conn.fetch(alert_config.SELECT_PERMITS, LATE_HORIZON_S),
            assignments=await conn.fetch(alert_config.SELECT_ASSIGNMENTS, LATE_HORIZON_S),
            parsed=self._parsed,
        )
        built = time.perf_counter()
        if not self.engine.same_rules(rs.rules, rs.zones):
            self.engine.install(self.engine.prepare_rules(rs.rules, rs.zones))
        self.engine.set_permits(rs.permits)
        self.ruleset = rs
        done = time.perf_counter()
        log.info(
            "ruleset loaded",
            extra={"version": version, "rules": len(rs.rules), "zones": len(rs.zones),
                   "seconds": round(done - started, 3), "read_s": round(built - started, 3),
                   "install_s": round(done - built, 3)},
        )  # fmt: skip
        return rs

    async def _zone_rows(self, conn: asyncpg.Connection) -> list[asyncpg.Record]:
        """The zone rows evaluation uses, fetching only those whose row version moved."""
        versions = {r["id"]: r["v"] for r in await conn.fetch(sql.SELECT_ZONE_VERSIONS)}
        kept = self._zones
        stale = [z for z, v in versions.items() if z not in kept or kept[z]["v"] != v]
        if stale:
            for r in await conn.fetch(sql.SELECT_ZONES_BY_ID, stale):
                kept[r["id"]] = r
        for z in [z for z in kept if z not in versions]:
            del kept[z]
            self._parsed.pop(z, None)
        return [kept[z] for z in versions if z in kept]

    async def run(
        self, conn: asyncpg.Connection, batch: EvaluationInput, *, locked: bool = False
    ) -> list[AlertOp]:
        """Evaluate ``batch`` in the caller's transaction (``locked``: its devices' advisory
        locks are held already); returns the operations that opened alerts."""
        started = time.perf_counter()
        devices = batch.device_ids()
        if not devices:
            return []
        rs = await self.load_ruleset(conn)
        if not locked:
            await conn.execute(sql.LOCK_DEVICES, devices)
        #: Per fix: the case its device reports for as a defendant at the fix time.
        cases = [rs.case_of(p.device_id, p.fix_time.timestamp()) for p in batch.pings]
        ops = await self._positional(conn, rs, batch.pings, cases)
        ops += await self._conditions(conn, rs, batch, cases)
        opened = await apply_ops(
            conn, dedupe_evidence(ops), unit_of_case=rs.unit_of_case, metrics=self.metrics,
            realert_after_s=self.settings.realert_after_s,
        )  # fmt: skip
        self.metrics.evaluation_seconds.observe(time.perf_counter() - started)
        return opened

    async def _positional(
        self,
        conn: asyncpg.Connection,
        rs: Ruleset,
        pings: Sequence[Ping],
        case_of_ping: Sequence[int | None],
    ) -> list[AlertOp]:
        watched = rs.positional_cases
        chosen: list[Ping] = []
        chosen_cases: list[int] = []
        protected: list[Fix] = []
        for p, case_id in zip(pings, case_of_ping, strict=True):
            if case_id in watched:
                chosen.append(p)
                chosen_cases.append(case_id)
            if p.device_id in rs.protected_persons:
                guarded = rs.case_of(p.device_id, p.fix_time.timestamp(), role="protected_person")
                if guarded is not None:
                    protected.append(to_fix(p, guarded))
        if protected:
            self.engine.observe_protected(protected)
        if not chosen:
            return []
        cases = sorted(set(chosen_cases))
        crossing = {
            p.device_id for p, c in zip(chosen, chosen_cases, strict=True) if c in rs.crossing_cases
        }
        await self._load(conn, rs, cases, sorted({p.device_id for p in chosen}), sorted(crossing))
        received = np.fromiter((epoch_ms(p.received_at) for p in chosen), np.int64, len(chosen))
        result = self.engine.evaluate(fix_batch(chosen, chosen_cases), received)
        await self.states.save(conn, self.engine.export_states(result.touched_keys))
        await self._save_tracks(conn, crossing)
        ops: list[AlertOp] = []
        for event in result.events:
            ops += from_geofence(
                event,
                rule_severity=rs.rule_severity.get(event.rule_id),
                wearer_command=rs.wearer_command.get(event.rule_id),
            )
        return ops

    async def _load(
        self,
        conn: asyncpg.Connection,
        rs: Ruleset,
        cases: list[int],
        devices: list[str],
        crossing: list[str],
    ) -> None:
        """Put the database's states (through the cache), tracks and protected positions into
        the engine. Tracks are kept only for ``crossing`` devices (see
        ``Ruleset.crossing_cases``); the other devices' are reset to "no previous fix"."""
        wanted = set(cases)
        keys = [(r.case_id, r.rule_id) for r in rs.rules if r.case_id in wanted]
        self.engine.load_states(await self.states.load(conn, keys))
        tracks: dict[str, tuple[int, int, float, float, float]] = {
            d: (int(NEVER_MS), 0, 0.0, 0.0, 0.0) for d in devices
        }
        for r in await conn.fetch(sql.SELECT_TRACKS, crossing) if crossing else ():
            tracks[r["device_id"]] = (r["t_ms"], r["seq"], r["lon"], r["lat"], r["radius_m"])
        self.engine.restore_tracks(tracks)
        guarded = sorted(rs.protected_devices(cases))
        if guarded:
            rows = await conn.fetch(sql.SELECT_POSITIONS, guarded)
            self.engine.observe_protected(
                Fix(r["device_id"], 0, r["last_fix_time"], 0, r["last_lon"], r["last_lat"],
                    float(r["last_acc"]), r["last_src"] or "gnss", r["last_seen_at"])
                for r in rows
            )  # fmt: skip

    async def _save_tracks(self, conn: asyncpg.Connection, devices: set[str]) -> None:
        snap = list(self.engine.tracks_snapshot(devices).items())
        if snap:
            columns: list[list[Any]] = [[d for d, _ in snap]]
            columns += [[v[i] for _, v in snap] for i in range(5)]
            await conn.execute(sql.UPSERT_TRACKS, *columns)

    async def _conditions(
        self,
        conn: asyncpg.Connection,
        rs: Ruleset,
        batch: EvaluationInput,
        case_of_ping: Sequence[int | None],
    ) -> list[AlertOp]:
        records = list(_record_observations(rs, batch, self.settings.battery_critical_pct))
        fixes = [(c, p) for p, c in zip(batch.pings, case_of_ping, strict=True) if c is not None]
        if not records and not fixes:
            return []
        speeds = await _speeds(conn, rs, fixes)
        # A fix only says "not powered off, movement plausible, not silent": it changes nothing
        # unless such a condition is open, or it was too fast for its case's speed limit.
        # Records (status, events, refused jumps) may open one.
        too_fast = {c for c, p in fixes if _too_fast(speeds.get(fix_key(p)))} if speeds else set()
        eventful = sorted({c for c, _ in records} | too_fast)
        every = sorted(set(eventful) | {c for c, _ in fixes})
        current: dict[int, dict[AlertKind, cond.ConditionState]] = {}
        for r in await conn.fetch(sql.SELECT_CONDITIONS, every, eventful):
            current.setdefault(r["case_id"], {})[AlertKind(r["kind"])] = cond.ConditionState(
                r["device_id"], r["open"], r["episode_key"], r["since"], r["changed_at"]
            )
        stepped = set(eventful) | set(current)
        pairs = [
            (c, o) for c, p in fixes if c in stepped
            for o in _fix_observations(p, speeds.get(fix_key(p)))
        ]  # fmt: skip
        grouped = cond.by_case(records + pairs)
        changed: list[tuple[int, AlertKind, cond.ConditionState]] = []
        ops: list[AlertOp] = []
        for case_id, observations in grouped.items():
            before = current.get(case_id, {})
            after, transitions = cond.step(case_id, before, observations)
            changed += [(case_id, k, s) for k, s in after.items() if before.get(k) != s]
            ops += [from_transition(t) for t in transitions]
        if changed:
            await conn.execute(
                sql.UPSERT_CONDITIONS,
                [c for c, _, _ in changed],
                [k.value for _, k, _ in changed],
                [s.device_id for _, _, s in changed],
                [s.open for _, _, s in changed],
                [s.episode_key for _, _, s in changed],
                [s.since for _, _, s in changed],
                [s.changed_at for _, _, s in changed],
            )
        return ops


def _too_fast(speed: tuple[float, Watch] | None) -> bool:
    return speed is not None and speed[1].threshold is not None and speed[0] > speed[1].threshold


async def _speeds(
    conn: asyncpg.Connection, rs: Ruleset, fixes: Sequence[tuple[int, Ping]]
) -> dict[FixKey, tuple[float, Watch]]:
    """For fixes of cases whose speed limit applies at their fix time: the least speed (m/s)
    from the fix stored just before each (this batch's fixes are stored already), and the
    deciding watch. Fixes with no earlier fix within the horizon are not measured."""
    watched: dict[FixKey, tuple[Ping, Watch]] = {}
    for case_id, p in fixes:
        if case_id not in rs.speed_limited:
            continue
        rules = rs.device_rules.get(case_id, ())
        watch = watch_of(rules, RuleKind.IMPOSSIBLE_SPEED, p.fix_time)
        if watch.enabled and watch.threshold is not None:
            watched[fix_key(p)] = (p, watch)
    if not watched:
        return {}
    measured = list(watched.values())
    rows = await conn.fetch(
        sql.SELECT_PREVIOUS_FIXES,
        [p.device_id for p, _ in measured],
        [p.fix_time for p, _ in measured],
        [p.seq for p, _ in measured],
        PREVIOUS_FIX_HORIZON_S,
    )
    out: dict[FixKey, tuple[float, Watch]] = {}
    for r in rows:
        p, watch = measured[r["i"] - 1]
        before = Position(r["fix_time"], r["lon"], r["lat"], acc_m(r["acc"]))
        here = Position(p.fix_time, p.lon, p.lat, acc_m(p.acc))
        out[fix_key(p)] = (implied_speed_mps(before, here), watch)
    return out


def _fix_observations(p: Ping, speed: tuple[float, Watch] | None) -> list[cond.Observation]:
    """What an accepted fix says of the device's conditions (``speed``: its measured speed and
    the case's speed watch, when it has a limit)."""
    speed_mps, watch = speed if speed is not None else (None, None)
    return cond.observe_fix(
        p.device_id, p.fix_time, p.seq, speed_mps=speed_mps, speed_watch=watch
    ) + cond.observe_contact(p.device_id, p.received_at)


def _record_observations(
    rs: Ruleset, batch: EvaluationInput, battery_pct: float
) -> Iterable[tuple[int, cond.Observation]]:
    """(case, observation) pairs of a batch's statuses, events and refused jumps, for devices
    assigned as defendants, judged by their case's device rules (default battery threshold
    ``battery_pct``)."""
    for s in batch.statuses:
        case_id = rs.case_of(s.device_id, s.at.timestamp())
        if case_id is not None:
            for o in cond.observe_status(
                s.device_id, s.at, battery_pct=s.battery_pct, charging=s.charging,
                strap_closed=s.strap_closed, policy=rs.device_policy(case_id, battery_pct),
            ):  # fmt: skip
                yield case_id, o
            for o in cond.observe_contact(s.device_id, s.received_at):
                yield case_id, o
    for e in batch.events:
        case_id = rs.case_of(e.device_id, e.at.timestamp())
        if case_id is not None:
            policy = rs.device_policy(case_id, battery_pct)
            for o in cond.observe_event(e.device_id, e.at, e.kind, policy):
                yield case_id, o
            for o in cond.observe_contact(e.device_id, e.received_at):
                yield case_id, o
    for r in batch.refused_jumps:
        if r.device_id is None or "fix_time" not in r.detail:
            continue
        at = datetime.fromisoformat(r.detail["fix_time"])
        case_id = rs.case_of(r.device_id, at.timestamp())
        if case_id is not None:
            policy = rs.device_policy(case_id, battery_pct)
            for o in cond.observe_refused_jump(
                r.device_id, at, int(r.detail["seq"]), r.detail, policy
            ):
                yield case_id, o
