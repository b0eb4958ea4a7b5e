"""Net CO2 release of thaw slumps from their disturbed area (seed 001 §4.2, after Turetsky et al. 2020).

The seed multiplies the area classified as slump by a per-area flux of disturbed ground and counts every
other pixel as undisturbed tundra, so a site's net release against an undisturbed landscape is

    net (t C / yr) = area (m2) x (F_disturbed - F_undisturbed) (g C m-2 yr-1) / 1e6
    net (t CO2 / yr) = net (t C / yr) x 44.01 / 12.011

F_disturbed includes net ecosystem exchange and the particulate and dissolved organic carbon lost, two
thirds of which are taken as mineralised to CO2 (the seed's reading of Turetsky et al. 2020); hillslope
thermokarst changes CH4 little, so only CO2 is counted. The factors are settings (``rts.carbon``), each
with its source string, and the output table carries them in its header.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from permafusion.core.files import write_text

#: Mass ratio CO2 / C.
CO2_PER_C = 44.01 / 12.011


@dataclass(frozen=True)
class FluxFactors:
    """Per-area carbon fluxes, positive to the atmosphere, in g C m-2 yr-1, with where they come from."""

    disturbed_g_c_m2_yr: float
    undisturbed_g_c_m2_yr: float
    mineralised_fraction: float
    source: str

    def net_t_c(self, area_m2: float) -> float:
        """Net carbon release (t C / yr) of ``area_m2`` of slump against undisturbed tundra."""
        return (
            area_m2
            * (self.disturbed_g_c_m2_yr * self.mineralised_fraction - self.undisturbed_g_c_m2_yr)
            / 1e6
        )


def carbon_table(series: pd.DataFrame, factors: FluxFactors) -> pd.DataFrame:
    """Per site and year with a scene: area and net release (t C / yr, t CO2 / yr), with the band's ends."""
    ok = series[series["status"] == "ok"].copy()
    out = pd.DataFrame({"site": ok["site"], "year": ok["year"]})
    for suffix, column in (("", "area_est_ha"), ("_low", "area_low_ha"), ("_high", "area_high_ha")):
        area_m2 = ok[column].astype(float) * 1e4
        out[f"net_t_c_per_yr{suffix}"] = area_m2.map(factors.net_t_c)
        out[f"net_t_co2_per_yr{suffix}"] = out[f"net_t_c_per_yr{suffix}"] * CO2_PER_C
    out.insert(2, "area_ha", ok["area_est_ha"].astype(float))
    return out.reset_index(drop=True)


def write_carbon_table(table: pd.DataFrame, factors: FluxFactors, path: str) -> None:
    """CSV with '#' header lines stating the factors and their provenance (pandas: ``comment='#'``)."""
    header = [
        "# net CO2 release of thaw slumps against undisturbed tundra (seed 001, after Turetsky et al. 2020)",
        f"# disturbed flux: {factors.disturbed_g_c_m2_yr} g C m-2 yr-1, mineralised fraction "
        f"{factors.mineralised_fraction}; undisturbed flux: {factors.undisturbed_g_c_m2_yr} g C m-2 yr-1",
        f"# source: {factors.source}",
        "# area: the series' estimated true area (and band); t CO2 = t C x 44.01/12.011",
    ]
    write_text("\n".join(header) + "\n" + table.to_csv(index=False), path)
