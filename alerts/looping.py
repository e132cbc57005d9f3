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
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
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


@dataclass(frozen=True)
class _Watched:
    name: str
    task: asyncio.Task[None]
    #: ``time.monotonic()`` of the last successful cycle (None: judged by being alive only).
    last_ok: Callable[[], float] | None
    stale_after_s: float


class Supervisor:
    """Watches the long-running tasks of one process (the equivalent of a TaskGroup for tasks
    owned by async context managers): the first to end stops :meth:`run` with
    :class:`LoopDiedError` and calls ``on_death`` with its name (a process without a
    :meth:`run`, such as the API under uvicorn, shuts itself down there)."""

    def __init__(self, on_death: Callable[[str], None] | None = None) -> None:
        self._watched: list[_Watched] = []
        self._died: asyncio.Future[str] | None = None
        self._stopping = False
        self._on_death = on_death

    def watch(self, service: LoopService) -> None:
        """Supervise ``service`` (already entered: its task runs)."""
        if service.task is None:
            raise ValueError(f"{service.name} is not running")
        self.watch_task(
            service.name, service.task, last_ok=lambda: service._last_ok,
            stale_after_s=service.stale_after_s,
        )  # fmt: skip

    def watch_task(
        self,
        name: str,
        task: asyncio.Task[None],
        *,
        last_ok: Callable[[], float] | None = None,
        stale_after_s: float = math.inf,
    ) -> None:
        """Supervise a plain task, fresh while ``last_ok`` is recent (or simply while alive)."""
        self._watched.append(_Watched(name, task, last_ok, stale_after_s))
        if self._died is None:
            self._died = asyncio.get_running_loop().create_future()
        task.add_done_callback(functools.partial(self._ended, name))

    def close(self) -> None:
        """The owner is stopping its tasks: their ends are expected from now on."""
        self._stopping = True

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
            if self._on_death is not None:
                self._on_death(name)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set (returns) or a loop ends (raises :class:`LoopDiedError`)."""
        died = self._died or asyncio.get_running_loop().create_future()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({died, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            self.close()
        if died.done():
            raise LoopDiedError(f"loop {died.result()!r} ended")

    def health(self) -> list[LoopHealth]:
        """Each loop's state now (safe to call from another thread: it only reads)."""
        now = time.monotonic()
        return [
            LoopHealth(
                name=w.name,
                age_s=0.0 if w.last_ok is None else now - w.last_ok(),
                stale_after_s=w.stale_after_s,
                alive=not w.task.done(),
            )
            for w in self._watched
        ]
