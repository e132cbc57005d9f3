"""Backup and point-in-time restore (deploy/backup.sh) on a throwaway cluster of its own.

The test starts its own PostgreSQL through ``deploy/services.sh`` (its own run dir and port, so
the suite's shared cluster is never touched; the shared test broker carries the fixes), has a
simulated watch publish fixes over MQTT to a real ingester writing into that cluster, takes a
base backup, writes more, destroys the data directory after a ``kill -9`` of the server, and
restores: to the latest commit (every committed fix is there), then to a moment between two
writes (exactly the fixes committed before it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from config.settings import Settings
from store.migrate import migrate
from tests.integration.ingest.helpers import fix, ingester, loc, now_ms
from tests.support import services

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "bk-watch-1"
SELECT_SEQS = "SELECT seq FROM pings WHERE device_id = %s ORDER BY seq"
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
    settings = services.isolated_mqtt(base_settings.model_copy(update={"db": db}))
    made = Cluster(env, run_dir, settings)
    try:
        ok(made.script("deploy/services.sh", "start-postgres"))
        migrate(made.dsn(), settings.pings, prefer="native")
        services.seed_devices(settings, [DEVICE])
        yield made
    finally:
        try:
            kill_server(made)  # a throwaway: no shutdown checkpoint to wait for
        finally:
            made.script("deploy/services.sh", "wipe")


def stored(cluster: Cluster) -> list[int]:
    with psycopg.connect(cluster.dsn()) as conn:
        return [row[0] for row in conn.execute(SELECT_SEQS, [DEVICE]).fetchall()]


def server_now(cluster: Cluster) -> datetime:
    with psycopg.connect(cluster.dsn()) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        value: datetime = row[0]
        return value


@contextmanager
def watch(cluster: Cluster) -> Iterator[Callable[[range], None]]:
    """A running ingester on the cluster, and a watch that publishes fixes ``seqs`` over MQTT and
    returns once the ingester has committed them."""
    settings = cluster.settings
    t0 = now_ms() - 300_000  # fix n is taken at t0 + n s
    try:
        with ingester(settings):
            client = services.mqtt_client(settings)

            def send(seqs: range) -> None:
                services.publish_all(client, [loc(DEVICE, fix(t0 + s * 1000, s)) for s in seqs])
                services.wait_until(
                    lambda: set(seqs) <= set(stored(cluster)), timeout_s=20, what=f"fixes {seqs}"
                )

            try:
                yield send
            finally:
                client.disconnect()
                client.loop_stop()
    finally:
        services.drop_mqtt_session(settings, settings.ingest.client_id)


def switch_and_wait_archived(cluster: Cluster) -> None:
    """Close the current WAL segment and wait until the archiver has shipped it."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        row = conn.execute(SWITCH_WAL).fetchone()
        assert row is not None
        segment: str = row[0]

        def archived() -> bool:
            state = conn.execute(SELECT_ARCHIVED).fetchone()
            assert state is not None
            last, failed = state
            assert failed == 0, "archive_command failed; see the cluster's postgresql.log"
            return last is not None and last >= segment

        services.wait_until(archived, timeout_s=30, what=f"{segment} archived")


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


def test_restore_latest_and_to_a_point_in_time(cluster: Cluster) -> None:
    early = server_now(cluster)
    refused = cluster.backup("restore", "--latest")
    assert refused.returncode == 1
    assert "no base backup yet" in refused.stderr

    with watch(cluster) as send:
        send(range(1, 4))
        ok(cluster.backup("backup"))
        too_early = cluster.backup("restore", "--to", early.isoformat())
        assert too_early.returncode == 1
        assert "before the oldest base backup" in too_early.stderr

        send(range(4, 7))
        between = server_now(cluster)
        send(range(7, 10))
    switch_and_wait_archived(cluster)

    destroy(cluster)
    assert "restored and promoted" in ok(cluster.backup("restore", "--latest"))
    assert stored(cluster) == list(range(1, 10))

    assert "restored and promoted" in ok(cluster.backup("restore", "--to", between.isoformat()))
    assert stored(cluster) == list(range(1, 7))
    # The restored server takes writes and archives again (on its new timeline).
    with watch(cluster) as send:
        send(range(10, 11))
    switch_and_wait_archived(cluster)

    # A moment after the last archived commit cannot be restored: a plain refusal, and the
    # server is back on its data as it was.
    beyond = server_now(cluster)
    refused = cluster.backup("restore", "--to", beyond.isoformat())
    assert refused.returncode == 1
    assert "the WAL archive ends before" in refused.stderr
    assert stored(cluster) == [*range(1, 7), 10]

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
