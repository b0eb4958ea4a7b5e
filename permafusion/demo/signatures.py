"""Per-class signatures of the synthetic degradation scene: levels, amplitudes, timing and trends of each
class's backscatter and reflectance, their spread between cells, and how cells blend at their borders.

Kept apart from :mod:`permafusion.demo.scene` (which turns them into maps) so that what makes the classes
differ, and the order control between classes 1 and 2, can be read in one place.
"""

from __future__ import annotations

#: Share of the cells per class code (Table 1 of the PermaFusionNet paper: roughly 40/27/20/13 %).
DEFAULT_CLASS_FRACTIONS: tuple[float, float, float, float] = (0.40, 0.27, 0.20, 0.13)

#: Per-class mean of each signature parameter. dB values are Sentinel-1 gamma0; fractions are 0..1.
#: vv_thaw: summer VV; freeze_drop: how much lower VV is on frozen ground; sar_wet_bump: VV/VH rise from a
#: wet, deepening active layer at the wetting peak; vh_offset: VH minus VV; vegfrac: green cover at the
#: seasonal peak; wet: soil wetness (darkens SWIR most); wet_bump: extra wetness at the wetting peak;
#: soil_bright: soil albedo; sar_trend: change of VV per year (dB/yr: subsidence and ponding darken,
#: wetting brightens), which shows both within the season and over the years of the period.
#: Timing (day of year): thaw_doy / refreeze_doy: the active layer thaws / refreezes; green_doy: peak of
#: the growing season; wet_doy: peak of the active-layer wetting.
#:
#: **Order control**: classes 1 (stable) and 2 (active-layer deepening) share every level, amplitude and
#: spread parameter (same means here, same :data:`CELL_SD`), thaw and refreeze on the same days, and differ
#: only in *when* the wetting peaks: stable ground wets late in summer as the thaw front reaches its
#: maximum (early September), deepening ground early, right after thaw, from melting ground ice (late June).
#: On SAR, whose land signal does not depend on greenness, the two classes run through the same values in a
#: different order; a model that ignores the order of the months can tell them apart only through the small
#: optical interaction of wetness and vegetation. Classes 3 and 4 differ in levels, timing and trend.
_STABLE = {
    "vv_thaw": -10.0,
    "freeze_drop": 4.8,
    "sar_wet_bump": 2.0,
    "vh_offset": -7.4,
    "vegfrac": 0.52,
    "wet": 0.12,
    "wet_bump": 0.30,
    "soil_bright": 1.0,
    "sar_trend": 0.0,
    "thaw_doy": 140.0,
    "refreeze_doy": 300.0,
    "green_doy": 205.0,
    "wet_doy": 250.0,
}
CLASS_PARAMS: dict[int, dict[str, float]] = {
    1: _STABLE,
    # the order control: class 1 with the active layer wetting in late June, not September
    2: {**_STABLE, "wet_doy": 174.0},
    3: {
        "vv_thaw": -10.8,
        "freeze_drop": 3.5,
        "sar_wet_bump": 0.8,
        "vh_offset": -8.0,
        "vegfrac": 0.35,
        "wet": 0.25,
        "wet_bump": 0.15,
        "soil_bright": 1.05,
        "sar_trend": -0.5,
        "thaw_doy": 128.0,
        "refreeze_doy": 312.0,
        "green_doy": 212.0,
        "wet_doy": 230.0,
    },
    4: {
        "vv_thaw": -8.8,
        "freeze_drop": 0.8,
        "sar_wet_bump": 0.8,
        "vh_offset": -6.3,
        "vegfrac": 0.78,
        "wet": 0.42,
        "wet_bump": 0.15,
        "soil_bright": 0.90,
        "sar_trend": 0.2,
        "thaw_doy": 115.0,
        "refreeze_doy": 325.0,
        "green_doy": 195.0,
        "wet_doy": 235.0,
    },
}

#: Standard deviation of each parameter between cells of the same class (natural site-to-site variety);
#: the timing entries are each cell's phase jitter (days).
CELL_SD: dict[str, float] = {
    "vv_thaw": 0.8,
    "freeze_drop": 0.7,
    "sar_wet_bump": 0.45,
    "vh_offset": 0.4,
    "vegfrac": 0.07,
    "wet": 0.06,
    "wet_bump": 0.08,
    "soil_bright": 0.06,
    "sar_trend": 0.1,
    "thaw_doy": 5.0,
    "refreeze_doy": 5.0,
    "green_doy": 6.0,
    "wet_doy": 8.0,
}

#: Per-pixel phase jitter (days, spatially smooth) added to the cell's timing.
PIXEL_PHASE_SD_DAYS = 3.0

#: Within-cell patches that look like another class (cells are labelled by their dominant state, and real
#: sites are heterogeneous): share of a cell's area, and which class the patches resemble.
PATCH_SHARE = 0.12
PATCH_LOOKALIKE: dict[int, int] = {1: 2, 2: 1, 3: 1, 4: 2}

#: Gaussian sigma (pixels) that blends parameters across cell borders: mixed pixels, fuzzy boundaries.
BORDER_BLEND_SIGMA_PX = 2.0
