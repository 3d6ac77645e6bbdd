"""The benchmark commands keep working (their figures are measured by running them, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "args", "keys"),
    [
        ("engine.py", ["--households", "20000", "--sample-points", "2000"],
         {"households", "seconds", "peak_rss_mb", "ratio_vs_rasterio_sample"}),
        ("registry.py", ["--households", "20000"], {"households", "seconds", "peak_rss_mb"}),
        ("hazard_read.py", ["--households", "20000"], {"households", "geotiff", "netcdf"}),
    ],
)
def test_benchmark_prints_its_figures(script, args, keys):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                         capture_output=True, text=True, timeout=600, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert keys <= set(figures)
    assert figures["households"] == 20000
