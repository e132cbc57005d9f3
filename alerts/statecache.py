"""The ingester's copy of the (case, rule) states it read or wrote, checked against the database.

Decoding every state of a batch's cases from jsonb, and encoding them all again, was most of
evaluation's cost. Each cached state remembers the ``xmin`` of the row it was read from or written
as (the id of the writing transaction). Under the per-device advisory locks, evaluation reads
only the ``xmin`` of the rows and decodes the rows whose ``xmin`` differs: written by another
ingester, or by a transaction of ours that did not commit (its ``xmin`` never shows in the
table). A key without a row is the initial state.

Writing: a state whose only change is its watermark (the steady state: compliant fixes) updates
the ``watermark_ms`` column alone; other changes upsert the whole state. A state that did not
change is not written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import asyncpg

from geofence.state import RuleState, evolve
from store import evaluation as sql

Key = tuple[int, int]


def _same_but_watermark(a: RuleState, b: RuleState) -> bool:
    return evolve(a, watermark_ms=b.watermark_ms) == b


class StateCache:
    """States by (case, rule), each with the row version (``xmin``) it matches."""

    def __init__(self) -> None:
        self._states: dict[Key, tuple[int, RuleState]] = {}

    def clear(self) -> None:
        self._states.clear()

    async def load(self, conn: asyncpg.Connection, keys: Sequence[Key]) -> list[RuleState]:
        """The current states of ``keys`` (their devices locked by the caller), in order."""
        versions = {
            (r["case_id"], r["rule_id"]): r["v"]
            for r in await conn.fetch(sql.SELECT_STATE_VERSIONS, sorted({c for c, _ in keys}))
        }
        stale: list[Key] = []
        for key in keys:
            if key not in versions:
                self._states.pop(key, None)
            elif self._version(key) != versions[key]:
                stale.append(key)
        if stale:
            rows = await conn.fetch(
                sql.SELECT_STATES_BY_KEY, [c for c, _ in stale], [r for _, r in stale]
            )
            for r in rows:
                state = RuleState.from_json(r["state"])
                if r["watermark_ms"] is not None:
                    state = replace(state, watermark_ms=r["watermark_ms"])
                self._states[(r["case_id"], r["rule_id"])] = (r["v"], state)
        return [self._states[k][1] if k in self._states else RuleState(*k) for k in keys]

    def _version(self, key: Key) -> int | None:
        entry = self._states.get(key)
        return None if entry is None else entry[0]

    async def save(self, conn: asyncpg.Connection, states: Iterable[RuleState]) -> None:
        """Write the states that changed since ``load`` (at most two statements) and remember
        them with their new row versions."""
        whole: list[RuleState] = []
        marks: list[RuleState] = []
        for new in sorted(states, key=lambda s: (s.case_id, s.rule_id)):
            entry = self._states.get((new.case_id, new.rule_id))
            if entry is None:
                whole.append(new)
            elif new != entry[1]:
                (marks if _same_but_watermark(new, entry[1]) else whole).append(new)
        written: list[asyncpg.Record] = []
        if whole:
            written += await conn.fetch(
                sql.UPSERT_STATES,
                [s.case_id for s in whole],
                [s.rule_id for s in whole],
                [s.to_json() for s in whole],
                [s.watermark_ms for s in whole],
            )
        if marks:
            written += await conn.fetch(
                sql.UPDATE_WATERMARKS,
                [s.case_id for s in marks],
                [s.rule_id for s in marks],
                [s.watermark_ms for s in marks],
            )
        chosen = {(s.case_id, s.rule_id): s for s in whole + marks}
        for r in written:
            key = (r["case_id"], r["rule_id"])
            self._states[key] = (r["v"], chosen[key])
