"""Net CO2 release of thaw slumps from their disturbed area (seed 001 §4.2).

The seed multiplies the area classified as slump by a per-area flux of disturbed ground and counts every
other pixel as undisturbed tundra, so a site's net release against an undisturbed landscape is

    net (t C / yr) = area (m2) x (F_disturbed x m - F_undisturbed) (g C m-2 yr-1) / 1e6
    net (t CO2 / yr) = net (t C / yr) x 44.01 / 12.011

with m the share of the disturbed loss that reaches the atmosphere as CO2. The defaults (``rts.carbon``
in the schema, documented in docs/tasks/rts.md) are those of Beer et al. 2023 (Environ. Res. Lett. 18,
104053, doi:10.1088/1748-9326/acfdbb): Siberian thaw slumps turned a quasi-neutral ecosystem into a CO2
source of 367 +- 213 g C m-2 a-1, so F_disturbed = 367 (already CO2-C: m = 1), F_undisturbed = 0, and
the factor's range 154-580. The seed took its factors from Turetsky et al. 2020 (net ecosystem exchange
plus particulate and dissolved organic carbon, two thirds mineralised; ``m = 2/3`` reproduces that
reading) but does not print them. Each setting carries its source string, written into the table header.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from permafusion.core.files import write_text

#: Mass ratio CO2 / C.
CO2_PER_C = 44.01 / 12.011


@dataclass(frozen=True)
class FluxFactors:
    """Per-area carbon fluxes, positive to the atmosphere, in g C m-2 yr-1, with where they come from.

    ``disturbed_uncertainty_g_c_m2_yr`` is the +- the source gives on the disturbed flux (0: none given).
    """

    disturbed_g_c_m2_yr: float
    undisturbed_g_c_m2_yr: float
    mineralised_fraction: float
    source: str
    disturbed_uncertainty_g_c_m2_yr: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.disturbed_uncertainty_g_c_m2_yr <= abs(self.disturbed_g_c_m2_yr):
            raise ValueError(
                f"rts.carbon.disturbed_uncertainty_g_c_m2_yr {self.disturbed_uncertainty_g_c_m2_yr} must lie "
                f"between 0 and the disturbed flux {self.disturbed_g_c_m2_yr}: set it to the source's +-"
            )

    def net_t_c(self, area_m2: float, *, shift: float = 0.0) -> float:
        """Net carbon release (t C / yr) of ``area_m2`` of slump; ``shift`` uncertainties on the flux."""
        disturbed = self.disturbed_g_c_m2_yr + shift * self.disturbed_uncertainty_g_c_m2_yr
        return area_m2 * (disturbed * self.mineralised_fraction - self.undisturbed_g_c_m2_yr) / 1e6


def carbon_table(series: pd.DataFrame, factors: FluxFactors) -> pd.DataFrame:
    """Per site and year with a scene: area and net release (t C / yr, t CO2 / yr), with ranges.

    ``_low``/``_high``: the area band at the central flux; ``_min``/``_max``: the area band's ends with
    the flux's ends (low area with low flux, high with high), the whole range both uncertainties allow.
    """
    ok = series[series["status"] == "ok"].copy()
    out = pd.DataFrame({"site": ok["site"], "year": ok["year"]})
    areas = {key: ok[column].astype(float) * 1e4 for key, column in _AREAS.items()}
    columns = {
        "": (areas["est"], 0.0),
        "_low": (areas["low"], 0.0),
        "_high": (areas["high"], 0.0),
        "_min": (areas["low"], -1.0),
        "_max": (areas["high"], 1.0),
    }
    for suffix, (area_m2, shift) in columns.items():
        out[f"net_t_c_per_yr{suffix}"] = area_m2.map(lambda a, s=shift: factors.net_t_c(a, shift=s))
    for suffix in columns:
        out[f"net_t_co2_per_yr{suffix}"] = out[f"net_t_c_per_yr{suffix}"] * CO2_PER_C
    out.insert(2, "area_ha", ok["area_est_ha"].astype(float))
    return out.reset_index(drop=True)


_AREAS = {"est": "area_est_ha", "low": "area_low_ha", "high": "area_high_ha"}


def write_carbon_table(table: pd.DataFrame, factors: FluxFactors, path: str) -> None:
    """CSV with '#' header lines stating the factors and their provenance (pandas: ``comment='#'``)."""
    spread = factors.disturbed_uncertainty_g_c_m2_yr
    header = [
        "# net CO2 release of thaw slumps against undisturbed tundra (seed 001 section 4.2, whose factors "
        "follow Turetsky et al. 2020)",
        f"# disturbed flux: {factors.disturbed_g_c_m2_yr} +- {spread} g C m-2 yr-1, mineralised fraction "
        f"{factors.mineralised_fraction}; undisturbed flux: {factors.undisturbed_g_c_m2_yr} g C m-2 yr-1",
        f"# source: {factors.source}",
        "# area: the series' estimated true area; _low/_high: its band at the central flux; _min/_max: "
        "band and flux ends together; t CO2 = t C x 44.01/12.011",
    ]
    write_text("\n".join(header) + "\n" + table.to_csv(index=False), path)
