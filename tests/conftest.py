"""Shared fixtures: tiny synthetic inputs, nothing read at import time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from hazards.layer import make_layer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED


@pytest.fixture
def demo_scenario_path() -> Path:
    return ROOT / "scenarios" / "indus-flood-demo.yaml"


@pytest.fixture
def raster5():
    """A 5x5 raster at 1/120 degree with values 10*row + col and one nodata pixel (2, 2)."""
    res = 1.0 / 120.0
    values = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(np.float32)
    values[2, 2] = np.nan
    transform = Affine(res, 0.0, 68.0, 0.0, -res, 26.0)
    return make_layer(values, transform, "EPSG:4326", units="m", kind="riverine-flood",
                      provenance={"test": "raster5"})
