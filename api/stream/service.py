"""The stream hub of one API process: LISTENs on the outbox channel and fans rows out to its
subscribers, each filtered by the caller's scope; replays a subscriber's missed rows from the
outbox table on (re)connect.

NOTIFY carries only the outbox id; the hub reads the rows by id (coalescing a burst into one
query), so any API process can serve any subscriber. A subscriber that cannot keep up is cut
off (its queue is bounded) and resumes from its last id, losing nothing. A row whose payload
breaks the reader is skipped (logged); the hub's two tasks are supervised: a fault a retry cannot
mend ends the task, cuts every subscriber off and shuts the process down (exit 1, see
``api.__main__``) rather than leaving a stream that silently carries nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import asyncpg

from alerts.looping import Supervisor, transient
from api.auth.models import Principal, Role
from config.settings import AlertsSettings, DatabaseSettings
from store import outbox as sql

log = logging.getLogger(__name__)

CHANNEL = "bw_outbox"


@dataclass(frozen=True)
class Item:
    """One outbox row as the stream sends it."""

    id: int
    unit_id: int | None
    topic: str
    payload: dict[str, Any]


def item_of(row: Mapping[str, Any]) -> Item:
    """The stream item of an outbox row; raises on a payload that is not a JSON object."""
    payload = row["payload"]
    if not isinstance(payload, dict):
        raise TypeError(f"payload is a JSON {type(payload).__name__}, not an object")
    return Item(row["id"], row["unit_id"], row["topic"], payload)


@dataclass(frozen=True)
class Scope:
    """What a caller sees: police and supervisors their unit's alerts, prosecutors those of their
    procuratorate's cases or their own, administrators their unit subtree's."""

    role: Role
    unit_id: int
    user_id: int
    subtree: frozenset[int] = frozenset()

    def sees(self, item: Item) -> bool:
        scope = item.payload.get("scope") or {}
        if self.role in (Role.police, Role.supervisor):
            return item.unit_id == self.unit_id
        if self.role is Role.prosecutor:
            return (
                scope.get("procuratorate_unit_id") == self.unit_id
                or scope.get("prosecutor_user_id") == self.user_id
            )
        if self.role is Role.admin:
            return item.unit_id in self.subtree
        return False


@dataclass(eq=False)
class Subscriber:
    """A connected client: its scope and its bounded queue (None in the queue: cut off)."""

    scope: Scope
    queue: asyncio.Queue[Item | None] = field(default_factory=asyncio.Queue)


class StreamHub:
    """One LISTEN connection and the subscribers of this process; an async context manager."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        db: DatabaseSettings,
        settings: AlertsSettings,
        *,
        on_fault: Callable[[str], None] | None = None,
    ) -> None:
        self.pool = pool
        self.db = db
        self.settings = settings
        self._on_fault = on_fault
        #: Watches the listener and the fan-out: one that ends cuts every subscriber off (they
        #: resume elsewhere by id) and calls ``on_fault`` (the process shuts down, exit 1).
        self.supervisor = Supervisor(on_death=self._died)
        self.subscribers: set[Subscriber] = set()
        self._pending: list[int] = []
        self._kick = asyncio.Event()
        self._last_id = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Self:
        listen = asyncio.create_task(self._listen(), name="stream_listener")
        fan_out = asyncio.create_task(self._fan_out(), name="stream_fan_out")
        self._tasks = [listen, fan_out]
        self.supervisor.watch_task("stream_listener", listen)
        self.supervisor.watch_task("stream_fan_out", fan_out)
        return self

    def _died(self, name: str) -> None:
        self._cut_everyone_off()
        if self._on_fault is not None:
            self._on_fault(name)

    def _cut_everyone_off(self) -> None:
        for sub in self.subscribers:
            sub.queue.put_nowait(None)
        self.subscribers.clear()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.supervisor.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._cut_everyone_off()

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._pending.append(int(payload))
        self._kick.set()

    async def _listen(self) -> None:
        """Keep the LISTEN connection open; after a reconnect, catch up from the last id."""
        while True:
            if self._conn is None or self._conn.is_closed():
                try:
                    conn = await self._connect()
                except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                    log.warning("stream listener not connected", extra={"error": repr(exc)})
                    await asyncio.sleep(1.0)
                    continue
                reconnected = self._conn is not None
                self._conn = conn
                if reconnected:
                    self._pending.append(-1)
                    self._kick.set()
            await asyncio.sleep(1.0)

    async def _connect(self) -> asyncpg.Connection:
        """A new connection listening on the outbox channel.

        Shutting the hub down cancels this task at any moment; cancelling asyncpg's connect or
        ``add_listener`` midway would leave a socket behind, so the connect is shielded and waited
        for, and a connection that will not be used is terminated before the cancellation goes on.
        """
        attempt = asyncio.ensure_future(
            asyncpg.connect(self.db.dsn(), timeout=self.db.connect_timeout_s)
        )
        try:
            conn: asyncpg.Connection = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            await asyncio.wait((attempt,))
            if not attempt.cancelled() and attempt.exception() is None:
                attempt.result().terminate()
            raise
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _fan_out(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            ids, self._pending = self._pending, []
            try:
                async with self.pool.acquire() as conn:
                    if -1 in ids:
                        rows = await conn.fetch(sql.SELECT_VISIBLE_AFTER_ALL, self._last_id)
                    else:
                        rows = await conn.fetch(sql.SELECT_BY_IDS, ids)
            except Exception as exc:
                if not transient(exc):
                    raise
                log.warning("stream read failed", extra={"error": repr(exc)})
                self._pending = ids + self._pending
                await asyncio.sleep(0.5)
                self._kick.set()
                continue
            for row in rows:
                self._last_id = max(self._last_id, row["id"])
                try:
                    self.publish(item_of(row))
                except Exception:  # a broken payload is data: skipped, the stream goes on
                    log.exception("stream item skipped", extra={"outbox_id": row["id"]})

    def publish(self, item: Item) -> None:
        """Give ``item`` to every subscriber that sees it; cut off the ones that lag."""
        limit = self.settings.stream_queue_max
        for sub in list(self.subscribers):
            if not sub.scope.sees(item):
                continue
            if sub.queue.qsize() >= limit:
                self.subscribers.discard(sub)
                sub.queue.put_nowait(None)
                continue
            sub.queue.put_nowait(item)

    def subscribe(self, scope: Scope) -> Subscriber:
        sub = Subscriber(scope)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def scope_of(self, principal: Principal) -> Scope:
        """The caller's scope (an administrator's unit subtree is read once, here)."""
        subtree: frozenset[int] = frozenset()
        if principal.role is Role.admin:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(sql.SELECT_SUBTREE, principal.unit_id)
            subtree = frozenset(r["id"] for r in rows)
        return Scope(principal.role, principal.unit_id, principal.user_id, subtree)

    async def replay(self, scope: Scope, after: int) -> AsyncIterator[Item]:
        """Rows after id ``after`` the caller sees, oldest first, page by page."""
        page = self.settings.stream_replay_page
        while True:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(
                    sql.SELECT_VISIBLE_AFTER, after, scope.role.value, scope.unit_id,
                    scope.user_id, page,
                )  # fmt: skip
            for row in rows:
                after = row["id"]
                try:
                    item = item_of(row)
                    seen = scope.sees(item)
                except Exception:  # a broken payload is data: skipped, the replay goes on
                    log.exception("stream item skipped", extra={"outbox_id": row["id"]})
                    continue
                if seen:
                    yield item
            if len(rows) < page:
                return
