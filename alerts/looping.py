"""The shape shared by the alerts process's services, and their supervision.

Each service runs one loop task while its block is open and calls :meth:`LoopService.beat`
after every successful cycle. A :class:`Supervisor` watches the tasks: a loop that ends (an
exception it does not expect, such as a schema that no longer matches the code) is logged with
its traceback and the process stops with :class:`LoopDiedError`, so its supervisor (compose
``restart:``, systemd) starts it again; a loop that has not completed a cycle for longer than
its ``stale_after_s`` makes the health endpoint answer 503.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import asyncpg

log = logging.getLogger(__name__)

#: SQLSTATE classes worth a retry: connection exception, transaction rollback (serialization,
#: deadlock), insufficient resources, operator intervention (shutdown), system error (I/O).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: Single SQLSTATEs worth a retry: lock not available, query canceled (statement timeout).
TRANSIENT_SQLSTATES = frozenset({"55P03", "57014"})


def transient(exc: BaseException) -> bool:
    """Whether a failed cycle may succeed if simply tried again (the network, the database
    restarting, a deadlock); anything else is a fault a retry cannot mend."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
    if isinstance(exc, asyncpg.DataError):
        return False  # a value the code passed does not fit its column: a bug, not the weather
    return isinstance(exc, (OSError, asyncpg.InterfaceError))


class LoopDiedError(RuntimeError):
    """A supervised loop ended; the process must exit non-zero."""


class LoopService(ABC):
    """An async context manager that runs :meth:`_loop` as a task while its block is open.

    On exit the task is cancelled and awaited, then :meth:`_close` releases what the service
    holds (connections, HTTP clients). Subclasses implement ``_loop`` (calling :meth:`beat`
    after each successful cycle) and, if needed, ``_close``.
    """

    #: The loop's name in logs and on the health endpoint.
    name: str = "loop"
    #: Seconds without a successful cycle after which the loop counts as stale.
    stale_after_s: float = 60.0
    _task: asyncio.Task[None] | None = None
    #: ``time.monotonic()`` of the last successful cycle (or of the start).
    _last_ok: float = 0.0

    @abstractmethod
    async def _loop(self) -> None:
        """The service's work, until cancelled."""

    async def _close(self) -> None:
        """Release resources once the loop has stopped; nothing by default."""
        return

    def beat(self) -> None:
        """Record a successful cycle."""
        self._last_ok = time.monotonic()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def __aenter__(self) -> Self:
        self.beat()
        self._task = asyncio.create_task(self._loop(), name=self.name)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close()


@dataclass(frozen=True)
class LoopHealth:
    """One loop on the health endpoint: seconds since its last successful cycle."""

    name: str
    age_s: float
    stale_after_s: float
    alive: bool

    @property
    def ok(self) -> bool:
        return self.alive and self.age_s <= self.stale_after_s


class Supervisor:
    """Watches the loop tasks of one process (the equivalent of a TaskGroup for services that
    are async context managers): the first loop to end stops :meth:`run` with
    :class:`LoopDiedError`."""

    def __init__(self) -> None:
        self._services: list[LoopService] = []
        self._died: asyncio.Future[str] | None = None
        self._stopping = False

    def watch(self, service: LoopService) -> None:
        """Supervise ``service`` (already entered: its task runs)."""
        task = service.task
        if task is None:
            raise ValueError(f"{service.name} is not running")
        self._services.append(service)
        if self._died is None:
            self._died = asyncio.get_running_loop().create_future()
        task.add_done_callback(functools.partial(self._ended, service.name))

    def _ended(self, name: str, task: asyncio.Task[None]) -> None:
        if self._stopping:
            return
        exc = None if task.cancelled() else task.exception()
        log.critical(
            "supervised loop ended, the process exits for its supervisor to restart it",
            exc_info=exc,
            extra={"loop": name, "cancelled": task.cancelled(), "error": repr(exc)},
        )
        if self._died is not None and not self._died.done():
            self._died.set_result(name)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set (returns) or a loop ends (raises :class:`LoopDiedError`)."""
        died = self._died or asyncio.get_running_loop().create_future()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({died, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            self._stopping = True
        if died.done():
            raise LoopDiedError(f"loop {died.result()!r} ended")

    def health(self) -> list[LoopHealth]:
        """Each loop's state now (safe to call from another thread: it only reads)."""
        now = time.monotonic()
        return [
            LoopHealth(
                name=s.name,
                age_s=now - s._last_ok,
                stale_after_s=s.stale_after_s,
                alive=s.task is not None and not s.task.done(),
            )
            for s in self._services
        ]
