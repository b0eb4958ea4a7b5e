"""The site specifications the workflow passes to the task's steps, rebuilt from rule inputs and params."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from permafusion.geo.grid import GridSpec


def site_specs(
    params: Mapping[str, Mapping[str, Any]],
    *,
    years: Sequence[int],
    scene_tifs: Sequence[str],
    scene_infos: Sequence[str],
    terrains: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """site -> ``{"grid", "bbox", "terrain", "scenes": {year: (tif, json)}}``.

    ``scene_tifs``/``scene_infos`` hold every site's years in order (site after site, years ascending);
    ``terrains`` one file per site, or nothing when the AOI has no DEM.
    """
    names = list(params)
    n = len(years)
    if len(scene_tifs) != len(names) * n or len(scene_infos) != len(scene_tifs):
        raise ValueError(f"expected {len(names) * n} scene files for sites {names} and years {list(years)}")
    out = {}
    for i, name in enumerate(names):
        out[name] = {
            "grid": GridSpec.from_mapping(params[name]["grid"]),
            "bbox": list(params[name]["bbox"]),
            "terrain": terrains[i] if terrains else None,
            "scenes": {year: (scene_tifs[i * n + k], scene_infos[i * n + k]) for k, year in enumerate(years)},
        }
    return out
