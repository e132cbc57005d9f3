"""The defence's machine: a fresh virtual environment holding only the verifier's dependency.

The venv is made without system site-packages and without pip; ``cryptography`` and the packages it
requires (``cffi``, ``pycparser``) are installed by copying exactly the files their wheels installed
here (each distribution's RECORD), which needs no network. Only a copy of ``evidence/`` is put on
the path, so any import of the rest of bailwatch, or of a server dependency, would fail the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from importlib import metadata
from pathlib import Path

import pytest

import evidence
from tests.unit.evidence import world

VERIFIER_DISTRIBUTIONS = ("cryptography", "cffi", "pycparser")


def _install_copy(name: str, site_packages: Path) -> None:
    dist = metadata.distribution(name)
    for file in dist.files or ():
        source = Path(str(dist.locate_file(file)))
        if source.is_file() and not str(file).startswith(".."):
            target = site_packages / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of the fresh venv, directory holding only a copy of the evidence package)."""
    root = tmp_path_factory.mktemp("defence")
    venv.EnvBuilder(system_site_packages=False, with_pip=False, symlinks=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
    ).stdout.strip()
    assert purelib != sysconfig.get_paths()["purelib"]
    for name in VERIFIER_DISTRIBUTIONS:
        _install_copy(name, Path(purelib))
    src = root / "src"
    shutil.copytree(
        Path(evidence.__file__).parent,
        src / "evidence",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return python, src


def _run(python: Path, src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(src), "LANG": "C.UTF-8"},
    )


def test_the_fresh_venv_has_nothing_of_the_server(fresh: tuple[Path, Path]) -> None:
    python, src = fresh
    absent = ["asyncpg", "fastapi", "pydantic", "shapely", "hypothesis", "store", "api", "ingest"]
    probe = f"import importlib.util as u; print([m for m in {absent!r} if u.find_spec(m)])"
    result = _run(python, src, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert sys.executable != str(python)


def test_verify_in_the_fresh_venv(fresh: tuple[Path, Path], tmp_path: Path) -> None:
    python, src = fresh
    case = world.build(tmp_path)
    good = tmp_path / "case.zip"
    good.write_bytes(case.zip_bytes)
    result = _run(python, src, "-m", "evidence", "verify", str(good), "--key", str(case.public_pem))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK:" in result.stdout

    seals = world.members(case.zip_bytes)["seals.json"].replace(b'"count":6', b'"count":5', 1)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(world.rezip(case.zip_bytes, {"seals.json": seals}))
    result = _run(python, src, "-m", "evidence", "verify", str(bad), "--key", str(case.public_pem))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MISMATCH seals.json: SHA-256 differs" in result.stdout
    assert "MISMATCH seals.json device W-001: first broken link 0: link differs" in result.stdout
