"""Property-based run of schemathesis against the served OpenAPI document: whatever a logged-in
police user sends, the API never answers 5xx. Bounded to well under a minute."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration

#: Generated cases per operation and the run's time budget (seconds).
MAX_EXAMPLES = 5
MAX_TIME_S = 35


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(api_settings: Settings, seeded: world.World) -> Iterator[str]:
    """The app on a free local port, served by uvicorn in a thread."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(api_settings), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_no_server_errors(served: str, tmp_path: Path) -> None:
    login = httpx.post(
        f"{served}/auth/token", data={"username": "police1", "password": world.password("police1")}
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{served}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(MAX_TIME_S),
            "--seed",
            "20261101",
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--header",
            f"Authorization: Bearer {token}",
            "--exclude-path",
            "/auth/token",
            "--report-dir",
            str(tmp_path),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=MAX_TIME_S + 60,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
