"""Which devices exist and which case each reports for at a given time, cached in the ingester.

Validation needs this for every fix, so it is held in memory: warmed at start from all active
devices, refreshed per device after ``ttl_s`` (known) or ``negative_ttl_s`` (unknown or with no
assignment), and looked up in the database, once per batch for all such ids, before a fix would
be refused as unknown or unassigned. So a device provisioned or assigned a moment ago is accepted
within ``negative_ttl_s`` at worst, and a flood from an unknown id costs one query per
``negative_ttl_s``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from store import devices as sql


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One device as cached: active or not, assignments as (from, to, case) epoch seconds."""

    active: bool
    assignments: tuple[tuple[float, float, int], ...]
    loaded_at: float
    #: An assignment without an end (computed once: ``stale`` asks for every fix's device).
    has_open_assignment: bool = field(init=False)

    def __post_init__(self) -> None:
        open_ = any(end == math.inf for _, end, _ in self.assignments)
        object.__setattr__(self, "has_open_assignment", open_)

    def case_at(self, t: float) -> int | None:
        """The case the device was assigned to at epoch second ``t`` (None if none)."""
        for start, end, case_id in reversed(self.assignments):
            if start <= t < end:
                return case_id
        return None


_UNKNOWN = DeviceEntry(active=False, assignments=(), loaded_at=0.0)


class DeviceDirectory:
    """The device cache; ``get`` is synchronous and cheap, ``ensure`` may query the database."""

    def __init__(self, *, ttl_s: float, negative_ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self._entries: dict[str, DeviceEntry] = {}

    def get(self, device_id: str) -> DeviceEntry | None:
        """The cached entry; None for a device not known (absent, or unknown to the database)."""
        entry = self._entries.get(device_id)
        if entry is None or not entry.active:
            return None
        return entry

    def stale(self, device_ids: Iterable[str], now: float) -> set[str]:
        """Ids to (re)load: absent, or older than their TTL."""
        out = set()
        for device_id in device_ids:
            entry = self._entries.get(device_id)
            if entry is None:
                out.add(device_id)
                continue
            ttl = self.ttl_s if entry.active and entry.has_open_assignment else self.negative_ttl_s
            if now - entry.loaded_at > ttl:
                out.add(device_id)
        return out

    async def ensure(self, conn: asyncpg.Connection, device_ids: Iterable[str]) -> int:
        """Load the stale ones among ``device_ids``; returns how many were read."""
        now = time.monotonic()
        todo = self.stale(device_ids, now)
        if not todo:
            return 0
        rows = await conn.fetch(sql.SELECT_DIRECTORY, sorted(todo))
        self._store(rows, now)
        for missing in todo - {row["id"] for row in rows}:
            self._entries[missing] = DeviceEntry(False, (), now)
        return len(todo)

    async def warm(self, conn: asyncpg.Connection) -> int:
        """Load every active device (at start)."""
        rows = await conn.fetch(sql.SELECT_DIRECTORY_ALL)
        self._store(rows, time.monotonic())
        return len(rows)

    def _store(self, rows: Iterable[asyncpg.Record], now: float) -> None:
        for row in rows:
            assignments = tuple(
                (start, math.inf if end is None else end, case_id)
                for case_id, start, end in zip(
                    row["case_ids"], row["froms"], row["tos"], strict=True
                )
            )
            self._entries[row["id"]] = DeviceEntry(row["status"] == "active", assignments, now)

    def forget(self, device_ids: Iterable[str]) -> None:
        """Drop the cached entries (read again before the next use): an assignment changed."""
        for device_id in device_ids:
            self._entries.pop(device_id, None)

    def put(
        self,
        device_id: str,
        *,
        active: bool = True,
        assignments: tuple[tuple[float, float, int], ...] = (),
    ) -> None:
        """Cache an entry directly (start-up seeding, tests); ``math.inf`` ends an open one."""
        self._entries[device_id] = DeviceEntry(active, assignments, time.monotonic())

    def __len__(self) -> int:
        return len(self._entries)
