"""Backup and point-in-time restore (deploy/backup.sh) on a throwaway cluster of its own.

The test starts its own PostgreSQL through ``deploy/services.sh`` (its own run dir and port, so
the suite's shared cluster is never touched), writes fixes with the ingester's own insert
(``store.pings.INSERT_ARRAYS``), takes a base backup, writes more, destroys the data directory
after a ``kill -9`` of the server, and restores: to the latest commit (every committed fix is
there), then to a moment between two writes (exactly the fixes committed before it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from config.settings import Settings
from store.migrate import migrate
from store.pings import ENSURE_PARTITIONS, INSERT_ARRAYS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "bk-watch-1"
SELECT_SEQS = "SELECT seq FROM pings WHERE device_id = $1 ORDER BY seq"
SELECT_ARCHIVED = "SELECT last_archived_wal, failed_count FROM pg_stat_archiver"
SWITCH_WAL = "SELECT pg_walfile_name(pg_switch_wal())"


@dataclass(frozen=True)
class Cluster:
    env: dict[str, str]
    run_dir: Path
    settings: Settings

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )

    def backup(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.script("deploy/backup.sh", *args)

    @property
    def data(self) -> Path:
        return (self.run_dir / "pg").resolve() / "data"

    def dsn(self) -> str:
        return self.settings.db.dsn()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr


@pytest.fixture
def cluster(base_settings: Settings) -> Iterator[Cluster]:
    run_dir = ROOT / ".run" / f"backup-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "BW_RUN_DIR": str(run_dir),
        "BW_DB__PORT": str(port),
        "BW_PG_ARCHIVE": "on",
    }
    env["BW_MQTT__PORT"] = str(free_port())  # never started; keeps the shared broker out of it
    db = base_settings.db.model_copy(update={"port": port, "name": "bailwatch"})
    made = Cluster(env, run_dir, base_settings.model_copy(update={"db": db}))
    try:
        ok(made.script("deploy/services.sh", "start-postgres"))
        migrate(made.dsn(), made.settings.pings, prefer="native")
        yield made
    finally:
        try:
            kill_server(made)  # a throwaway: no shutdown checkpoint to wait for
        finally:
            made.script("deploy/services.sh", "wipe")


async def write_fixes(dsn: str, seqs: range) -> None:
    """One committed batch through the ingester's insert, fix times one second apart."""
    base = datetime.now(UTC).replace(microsecond=0)
    now = datetime.now(UTC)
    n = len(seqs)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(ENSURE_PARTITIONS, base.date(), (base + timedelta(days=1)).date())
        rows = await conn.fetch(
            INSERT_ARRAYS,
            [DEVICE] * n,
            [base - timedelta(hours=1) + timedelta(seconds=s) for s in seqs],
            list(seqs),
            [now] * n,
            [116.4 + s / 1e4 for s in seqs],
            [39.9] * n,
            [5.0] * n,
            ["gnss"] * n,
            [None] * n,
            [None] * n,
            [None] * n,
            [80] * n,
            [9] * n,
        )
        assert len(rows) == n
    finally:
        await conn.close()


async def stored(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [row["seq"] for row in await conn.fetch(SELECT_SEQS, DEVICE)]
    finally:
        await conn.close()


async def server_now(dsn: str) -> datetime:
    conn = await asyncpg.connect(dsn)
    try:
        value: datetime = await conn.fetchval("SELECT clock_timestamp()")
        return value
    finally:
        await conn.close()


async def switch_and_wait_archived(dsn: str) -> None:
    """Close the current WAL segment and wait (30 s at most) until the archiver has shipped it."""
    conn = await asyncpg.connect(dsn)
    try:
        segment = await conn.fetchval(SWITCH_WAL)
        async with asyncio.timeout(30):
            while True:
                last, failed = await conn.fetchrow(SELECT_ARCHIVED)
                assert failed == 0, "archive_command failed; see the cluster's postgresql.log"
                if last is not None and last >= segment:
                    return
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


def kill_server(cluster: Cluster) -> None:
    """``kill -9`` the cluster's postmaster (when it runs) and wait until it is gone."""
    pidfile = cluster.data / "postmaster.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, "the killed postmaster did not go away"
        time.sleep(0.05)


def destroy(cluster: Cluster) -> None:
    """A disk failure: the server dies (kill -9) and its data directory is gone."""
    kill_server(cluster)
    shutil.rmtree(cluster.data)


async def test_restore_latest_and_to_a_point_in_time(cluster: Cluster) -> None:
    early = await server_now(cluster.dsn())
    refused = cluster.backup("restore", "--latest")
    assert refused.returncode == 1
    assert "no base backup yet" in refused.stderr

    await write_fixes(cluster.dsn(), range(1, 4))
    ok(cluster.backup("backup"))
    too_early = cluster.backup("restore", "--to", early.isoformat())
    assert too_early.returncode == 1
    assert "before the oldest base backup" in too_early.stderr

    await write_fixes(cluster.dsn(), range(4, 7))
    between = await server_now(cluster.dsn())
    await write_fixes(cluster.dsn(), range(7, 10))
    await switch_and_wait_archived(cluster.dsn())

    destroy(cluster)
    assert "restored and promoted" in ok(cluster.backup("restore", "--latest"))
    assert await stored(cluster.dsn()) == list(range(1, 10))

    assert "restored and promoted" in ok(cluster.backup("restore", "--to", between.isoformat()))
    assert await stored(cluster.dsn()) == list(range(1, 7))
    # The restored server archives again (its new timeline), so the next failure is covered too.
    await write_fixes(cluster.dsn(), range(10, 11))
    await switch_and_wait_archived(cluster.dsn())

    # A moment after the last archived commit cannot be restored: a plain refusal, and the
    # server is back on its data as it was.
    beyond = await server_now(cluster.dsn())
    refused = cluster.backup("restore", "--to", beyond.isoformat())
    assert refused.returncode == 1
    assert "the WAL archive ends before" in refused.stderr
    assert await stored(cluster.dsn()) == [*range(1, 7), 10]

    # Retention: the one base backup is kept, and so is every segment from its first on.
    base = next((cluster.run_dir / "backup").resolve().joinpath("base").iterdir())
    label = (base / "backup_label").read_text()
    first = label.split("(file ", 1)[1].split(")", 1)[0]
    wal = (cluster.run_dir / "backup").resolve() / "wal"
    before = sorted(p.name for p in wal.iterdir() if len(p.name) == 24)
    assert before[0] < first
    ok(cluster.backup("prune", "--keep", "1"))
    after = sorted(p.name for p in wal.iterdir() if len(p.name) == 24)
    assert after == [name for name in before if name[8:] >= first[8:]]
    assert base.exists()
