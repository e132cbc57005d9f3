"""Shared, pure fixtures: the real Dongying boundaries and the demo scenario built from them."""

from __future__ import annotations

import pytest

from sim.scenario import Boundary, Scenario, build_scenario, load_boundaries


@pytest.fixture(scope="session")
def boundaries() -> dict[str, Boundary]:
    return load_boundaries()


@pytest.fixture(scope="session")
def scenario(boundaries: dict[str, Boundary]) -> Scenario:
    return build_scenario(boundaries, devices=6, seed=7)
