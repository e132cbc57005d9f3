"""``evidence/`` imports only the standard library, ``cryptography`` and itself (the defence's
machine has nothing else)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import evidence

ALLOWED = {"cryptography", "evidence"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_evidence_imports_only_stdlib_and_cryptography() -> None:
    package = Path(evidence.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) >= 10
    for module in modules:
        outside = {
            name
            for name in _imports(module)
            if name not in ALLOWED and name not in sys.stdlib_module_names
        }
        assert outside == set(), f"{module.name} imports {sorted(outside)}"
