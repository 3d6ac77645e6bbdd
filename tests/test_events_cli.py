"""`madad hazard events`: stochastic event sets for every hazard kind, built from the generators."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from hazards import events
from simulator.cli.hazard import hazard_app

SMALL = {
    "riverine-flood": "67.5,24.5,68.5,25.5",
    "flash-flood": "71.5,34.0,72.5,35.0",
    "heatwave": "67.0,24.5,68.0,25.5",
    "drought": "69.5,24.2,70.5,25.2",
    "earthquake": "73.0,34.0,74.0,35.0",
    "cyclone": "67.0,23.5,68.0,24.5",
}


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_event_set_for_every_kind(kind, tmp_path):
    out = tmp_path / f"{kind}.npz"
    result = CliRunner().invoke(
        hazard_app,
        ["events", kind, "--events", "12", "--years", "120", "--seed", "3", "--bbox", SMALL[kind],
         "--resolution", "0.05", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    es = events.load(out)
    assert es.intensity.shape[0] == 12
    np.testing.assert_allclose(es.frequency, 1 / 120)
    assert es.kind == kind
    # the same seed gives the same set
    again = tmp_path / "again.npz"
    CliRunner().invoke(hazard_app, ["events", kind, "--events", "12", "--years", "120", "--seed", "3",
                                    "--bbox", SMALL[kind], "--resolution", "0.05", "--out", str(again)])
    assert (es.intensity != events.load(again).intensity).nnz == 0


def test_severity_grows_with_return_period():
    rng = np.random.default_rng(0)
    for kind, key in (("heatwave", "anomaly_degc"), ("drought", "deficit"), ("cyclone", "delta_p_hpa"),
                      ("earthquake", "magnitude")):
        low = events._severity_for(kind, 2, rng, {})[key]
        high = events._severity_for(kind, 500, rng, {})[key]
        assert high > low, kind
    assert events._severity_for("earthquake", 5, rng, {})["magnitude"] == pytest.approx(5.5)
    assert events._severity_for("earthquake", 50, rng, {})["magnitude"] == pytest.approx(6.5)


def test_unknown_kind_refused():
    result = CliRunner().invoke(hazard_app, ["events", "tsunami", "--out", "x.npz"])
    assert result.exit_code == 2
    assert "tsunami" in result.output
