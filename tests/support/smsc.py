"""Run the loopback SMSC (``tests/support/smpp_server``, node-smpp) for the SMS tests.

Node and npm are required (Debian: ``apt-get install nodejs npm``); without them the tests fail,
they are never skipped. Its npm dependencies are installed with ``npm ci`` from the committed
lock file the first time. The server writes every event as a JSON line to a record file;
:meth:`Smsc.wait_for` waits for a matching event. ``stop`` and ``start`` again on the same
port simulate a gateway that is down for a while.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SERVER_DIR = Path(__file__).resolve().parent / "smpp_server"
SERVER_SCRIPT = SERVER_DIR / "server.mjs"
READY_MARKER = "SMPP READY"

Event = dict[str, Any]


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"`{tool}` not found: the SMS tests run an SMSC on Node "
            "(Debian: apt-get install -y nodejs npm)",
            pytrace=False,
        )
    return path


def ensure_node_modules() -> None:
    """``npm ci`` in ``tests/support/smpp_server`` when node-smpp is not installed yet."""
    if (SERVER_DIR / "node_modules" / "smpp" / "package.json").is_file():
        return
    npm = _require("npm")
    result = subprocess.run(
        [npm, "ci", "--prefix", str(SERVER_DIR), "--no-audit", "--no-fund"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`npm ci` in {SERVER_DIR} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
            pytrace=False,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Smsc:
    """One node-smpp SMSC process on a fixed loopback port."""

    def __init__(
        self,
        directory: Path,
        *,
        system_id: str,
        password: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.record_path = directory / "smsc-record.jsonl"
        self.log_path = directory / "smsc.log"
        self.record_path.touch()
        self._env = {
            **os.environ,
            "SMPP_SYSTEM_ID": system_id,
            "SMPP_PASSWORD": password,
            **(env or {}),
        }
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout_s: float = 30.0) -> None:
        node = _require("node")
        ensure_node_modules()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [node, str(SERVER_SCRIPT), str(self.port), str(self.record_path)],
                cwd=SERVER_DIR,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        ready = f"{READY_MARKER} {self.port}"
        while ready not in self.log_path.read_text(errors="replace"):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"SMSC did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def unbind_all(self) -> None:
        """Make the SMSC send unbind to every bound session (SIGUSR2)."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGUSR2)

    def events(self, kind: str | None = None) -> list[Event]:
        lines = self.record_path.read_text(encoding="utf-8").splitlines()
        found = [json.loads(line) for line in lines if line.strip()]
        return [e for e in found if kind is None or e["event"] == kind]

    async def wait_for(
        self,
        kind: str,
        where: Callable[[Event], bool] = lambda _e: True,
        *,
        count: int = 1,
        timeout_s: float = 20.0,
    ) -> list[Event]:
        """The first ``count`` events of ``kind`` matching ``where``, waiting for them."""
        deadline = time.monotonic() + timeout_s
        while True:
            matching = [e for e in self.events(kind) if where(e)]
            if len(matching) >= count:
                return matching
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} {kind} event(s) not recorded in {timeout_s:g} s; got "
                    f"{self.events()[-20:]}"
                )
            await asyncio.sleep(0.02)
