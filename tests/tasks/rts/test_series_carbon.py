"""Yearly areas with their band and the CO2 arithmetic, on hand-made masks."""

import numpy as np
import pandas as pd
import pytest

from permafusion.tasks.rts.carbon import CO2_PER_C, FluxFactors, carbon_table, write_carbon_table
from permafusion.tasks.rts.series import Uncertainty, mask_figures, yearly_table

SCORES = {
    "precision": 0.8,
    "recall": 0.5,
    "precision_lo": 0.7,
    "precision_hi": 0.9,
    "recall_lo": 0.4,
    "recall_hi": 0.6,
    "object_precision": 0.6,
    "object_recall": 0.8,
    "object_precision_lo": 0.5,
    "object_precision_hi": 0.7,
    "object_recall_lo": 0.7,
    "object_recall_hi": 1.0,
}


def test_count_and_area_of_a_hand_made_mask():
    mask = np.zeros((50, 50), bool)
    mask[0:10, 0:10] = True  # 100 px = 1 ha at 10 m
    mask[20:25, 20:30] = True  # 50 px
    mask[40, 40] = True  # 1 px, under the minimum size
    assert mask_figures(mask, pixel_area_m2=100.0, min_pixels=2) == (2, 1.5)
    assert mask_figures(mask, pixel_area_m2=100.0, min_pixels=1) == (3, pytest.approx(1.51))


def test_measured_band_corrects_the_area_by_precision_over_recall():
    est, low, high = Uncertainty("measured").band(10.0, SCORES)
    assert est == pytest.approx(16.0) and low == pytest.approx(10 * 0.7 / 0.6)
    assert high == pytest.approx(10 * 0.9 / 0.4)
    assert Uncertainty("flat", 0.15).band(10.0, SCORES) == (10.0, 8.5, 11.5)
    with pytest.raises(ValueError, match="flat"):
        Uncertainty("measured").band(1.0, {"precision": None})


def test_measured_count_is_corrected_by_object_precision_over_recall():
    # 20 predicted slumps of which 60 % match, finding 80 % of the true ones: 12 / 0.8 = 15 true slumps
    est, low, high = Uncertainty("measured").band(20.0, SCORES, prefix="object_")
    assert est == pytest.approx(15.0) and low == pytest.approx(10.0) and high == pytest.approx(20.0)
    rows = [{"site": "a", "year": 2016, "status": "ok", "count": 20, "area_ha": 2.0}]
    table = yearly_table(rows, scores=SCORES, uncertainty=Uncertainty("measured"))
    assert table.loc[0, ["count_est", "count_low", "count_high"]].tolist() == pytest.approx([15, 10, 20])
    assert table.loc[0, "area_est_ha"] == pytest.approx(3.2)
    pixel_only = {k: v for k, v in SCORES.items() if "object" not in k}
    with pytest.raises(ValueError, match="object_precision"):
        Uncertainty("measured").band(1.0, pixel_only, prefix="object_")


def test_series_lists_skipped_years_without_figures():
    rows = [
        {"site": "a", "year": 2017, "status": "skipped", "reason": "no scene"},
        {"site": "a", "year": 2016, "status": "ok", "count": 3, "area_ha": 2.0},
    ]
    table = yearly_table(rows, scores=SCORES, uncertainty=Uncertainty("flat", 0.1))
    assert table["year"].tolist() == [2016, 2017]
    assert table.loc[0, "area_low_ha"] == pytest.approx(1.8) and np.isnan(table.loc[1, "area_ha"])
    assert table.loc[1, "reason"] == "no scene"


def test_net_co2_is_area_times_the_flux_difference(tmp_path):
    factors = FluxFactors(
        disturbed_g_c_m2_yr=300.0,
        undisturbed_g_c_m2_yr=-30.0,
        mineralised_fraction=2 / 3,
        source="hand-made test factors",
    )
    series = pd.DataFrame(
        {
            "site": ["a", "a"],
            "year": [2016, 2017],
            "status": ["ok", "skipped"],
            "area_est_ha": [2.0, np.nan],
            "area_low_ha": [1.0, np.nan],
            "area_high_ha": [3.0, np.nan],
        }
    )
    table = carbon_table(series, factors)
    assert len(table) == 1
    # 2 ha = 20000 m2 x (300 x 2/3 + 30) g C = 4.6e6 g C = 4.6 t C
    assert table.loc[0, "net_t_c_per_yr"] == pytest.approx(4.6)
    assert table.loc[0, "net_t_co2_per_yr"] == pytest.approx(4.6 * CO2_PER_C)
    assert table.loc[0, "net_t_c_per_yr_low"] == pytest.approx(2.3)
    path = tmp_path / "co2.csv"
    write_carbon_table(table, factors, str(path))
    text = path.read_text()
    assert "# source: hand-made test factors" in text and "300.0 +- 0.0 g C m-2 yr-1" in text
    assert pd.read_csv(path, comment="#")["net_t_c_per_yr"].iloc[0] == pytest.approx(4.6)


def test_the_flux_range_widens_the_area_band_to_min_and_max():
    # Beer et al. 2023: 367 +- 213 g C m-2 a-1 of CO2-C, quasi-neutral tundra before
    factors = FluxFactors(
        disturbed_g_c_m2_yr=367.0,
        disturbed_uncertainty_g_c_m2_yr=213.0,
        undisturbed_g_c_m2_yr=0.0,
        mineralised_fraction=1.0,
        source="Beer et al. 2023",
    )
    series = pd.DataFrame(
        {"site": ["a"], "year": [2020], "status": ["ok"], "area_est_ha": [10.0], "area_low_ha": [8.0]}
        | {"area_high_ha": [12.0]}
    )
    row = carbon_table(series, factors).iloc[0]
    # 10 ha = 1e5 m2 x 367 g = 36.7 t C; 8 ha x 154 g = 12.32 t; 12 ha x 580 g = 69.6 t
    assert row["net_t_c_per_yr"] == pytest.approx(36.7)
    assert row["net_t_c_per_yr_low"] == pytest.approx(29.36) and row["net_t_c_per_yr_high"] == pytest.approx(
        44.04
    )
    assert row["net_t_c_per_yr_min"] == pytest.approx(12.32) and row["net_t_c_per_yr_max"] == pytest.approx(
        69.6
    )
    assert row["net_t_co2_per_yr_max"] == pytest.approx(69.6 * CO2_PER_C)
    with pytest.raises(ValueError, match="disturbed_uncertainty"):
        FluxFactors(100.0, 0.0, 1.0, "x", disturbed_uncertainty_g_c_m2_yr=150.0)
