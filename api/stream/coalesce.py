"""Evidence coalescing for one live-stream subscriber, pure (the caller gives the clock).

An alert in violation gets an ``evidence_added`` timeline entry per batch of fixes; sent as they
come they drown everything else on an officer's screen. Per alert, the first ``evidence_added``
entry goes out at once; the ones within ``every_s`` seconds after it are folded into one entry
sent when the window ends, carrying how many entries and fixes it stands for and the newest
entry's data (its ``latest`` position). Any other entry of the alert (cleared, resolved, ...)
first sends what is folded, so the alert's story stays in order. Entries are only folded on the
stream: every one is recorded in ``alert_events`` and the outbox.

The folded entry goes out with the SSE id of the newest entry it stands for, or the newest id
already sent if that is higher (an id is a resume point: everything up to it was delivered), so
ids on the stream never go down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.stream.service import Item

EVIDENCE = "alert.evidence_added"


@dataclass
class _Fold:
    """Evidence entries of one alert held back: the newest, how many, how many fixes."""

    newest: Item
    entries: int
    fixes: int
    first_id: int
    first_at: Any


def alert_id_of(item: Item) -> int | None:
    alert = item.payload.get("alert")
    value = alert.get("id") if isinstance(alert, dict) else None
    return value if isinstance(value, int) else None


def fixes_of(item: Item) -> int:
    """How many fixes one ``evidence_added`` entry adds (``data.fixes``, else its list)."""
    data = (item.payload.get("event") or {}).get("data") or {}
    n = data.get("fixes")
    if isinstance(n, int):
        return n
    evidence = data.get("evidence")
    return len(evidence) if isinstance(evidence, list) else 0


@dataclass
class EvidenceCoalescer:
    """Decides which entries go out now; ``every_s`` 0 folds nothing."""

    every_s: float
    _sent_at: dict[int, float] = field(default_factory=dict)
    _held: dict[int, _Fold] = field(default_factory=dict)
    _max_id: int = 0

    def offer(self, item: Item, now: float) -> list[Item]:
        """The entries to send now, in order, given ``item`` at monotonic time ``now``."""
        alert_id = alert_id_of(item)
        if alert_id is None or self.every_s <= 0:
            return self._out([item])
        if item.topic != EVIDENCE:
            released = self._release(alert_id)
            if released:
                self._sent_at[alert_id] = now
            return self._out([*released, item])
        held = self._held.get(alert_id)
        if held is not None:
            held.newest, held.entries = item, held.entries + 1
            held.fixes += fixes_of(item)
            return []
        last = self._sent_at.get(alert_id)
        if last is None or now - last >= self.every_s:
            self._sent_at[alert_id] = now
            return self._out([item])
        event = item.payload.get("event") or {}
        self._held[alert_id] = _Fold(item, 1, fixes_of(item), item.id, event.get("at"))
        return []

    def due(self, now: float) -> list[Item]:
        """Folded entries whose window has ended by ``now``."""
        ready = [a for a in self._held if now - self._sent_at.get(a, now) >= self.every_s]
        out: list[Item] = []
        for alert_id in ready:
            out += self._release(alert_id)
            self._sent_at[alert_id] = now
        return self._out(out)

    def flush(self) -> list[Item]:
        """Every folded entry now (end of a replay)."""
        out: list[Item] = []
        for alert_id in list(self._held):
            out += self._release(alert_id)
        return self._out(out)

    def next_due(self) -> float | None:
        """The monotonic time the first folded entry is due (None: nothing is held)."""
        times = [self._sent_at.get(a, 0.0) + self.every_s for a in self._held]
        return min(times) if times else None

    def _release(self, alert_id: int) -> list[Item]:
        fold = self._held.pop(alert_id, None)
        if fold is None:
            return []
        payload = dict(fold.newest.payload)
        event = dict(payload.get("event") or {})
        data = dict(event.get("data") or {})
        data["fixes"] = fold.fixes
        data["coalesced"] = {
            "entries": fold.entries, "fixes": fold.fixes, "first_event_at": fold.first_at,
            "outbox_ids": [fold.first_id, fold.newest.id],
        }  # fmt: skip
        event["data"] = data
        payload["event"] = event
        return [Item(fold.newest.id, fold.newest.unit_id, fold.newest.topic, payload)]

    def _out(self, items: list[Item]) -> list[Item]:
        """``items`` with ids that never go down (see the module's note)."""
        out = []
        for item in items:
            if item.id < self._max_id:
                item = Item(self._max_id, item.unit_id, item.topic, item.payload)
            self._max_id = item.id
            out.append(item)
        return out
