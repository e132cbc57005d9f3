"""The shape shared by the alerts process's services: a loop task alive while the block is open."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class LoopService(ABC):
    """An async context manager that runs :meth:`_loop` as a task while its block is open.

    On exit the task is cancelled and awaited, then :meth:`_close` releases what the service
    holds (connections, HTTP clients). Subclasses implement ``_loop`` and, if needed, ``_close``.
    """

    _task: asyncio.Task[None] | None = None

    @abstractmethod
    async def _loop(self) -> None:
        """The service's work, until cancelled."""

    async def _close(self) -> None:
        """Release resources once the loop has stopped; nothing by default."""
        return

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close()
