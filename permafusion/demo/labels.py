"""Ground truth of the demo: survey-like label polygons and the full truth raster."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from rasterio import features

from permafusion.demo.scene import DemoScene
from permafusion.geo.grid import GridSpec
from permafusion.tasks.degradation.classes import DEGRADATION


def truth_raster(scene: DemoScene, grid: GridSpec) -> np.ndarray:
    """The class of every pixel of ``grid`` (uint8 codes 1..4), rasterised from the truth cells."""
    truth = features.rasterize(
        ((cell, int(code)) for cell, code in zip(scene.cells, scene.cell_classes, strict=True)),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="uint8",
    )
    if (truth == 0).any():
        # A pixel centre exactly on a shared cell edge may be missed: take the nearest class.
        from scipy import ndimage

        idx = ndimage.distance_transform_edt(truth == 0, return_distances=False, return_indices=True)
        truth = truth[tuple(idx)]
    return truth


def label_polygons(
    scene: DemoScene,
    grid: GridSpec,
    rng: np.random.Generator,
    *,
    labeled_fraction: float,
    shrink_m: float = 20.0,
) -> gpd.GeoDataFrame:
    """Survey-like labels: a share of the truth cells inside ``grid``, shrunk, in lon/lat.

    Field surveys label some sites, not all land, and their boundaries are uncertain: cells are drawn per
    class (each class keeps at least one labelled cell), clipped to the grid, and buffered inward by
    ``shrink_m`` so that the fuzzy border zone stays unlabelled.

    Args:
        scene: the synthetic scene.
        grid: the processing grid (labels never extend beyond it).
        rng: random generator (consumed).
        labeled_fraction: share of the cells (per class) that get a label, in (0, 1].
        shrink_m: inward buffer (m).

    Returns:
        GeoDataFrame with ``class_code`` (int), ``class_name`` (str), Polygon geometry, EPSG:4326.
    """
    box = shapely.box(*grid.bounds)
    clipped = [shapely.intersection(cell, box) for cell in scene.cells]
    candidates: dict[int, list[int]] = {code: [] for code in DEGRADATION.codes}
    for i, (geom, code) in enumerate(zip(clipped, scene.cell_classes, strict=True)):
        if geom.area > (4 * shrink_m) ** 2:
            candidates[int(code)].append(i)
    chosen: list[int] = []
    for code in DEGRADATION.codes:
        cells = candidates[code]
        if not cells:
            continue
        n = min(len(cells), max(1, round(labeled_fraction * len(cells))))
        chosen.extend(int(i) for i in rng.choice(cells, size=n, replace=False))
    chosen.sort()

    rows: list[dict[str, object]] = []
    for i in chosen:
        geom = clipped[i].buffer(-shrink_m)
        if geom.is_empty or geom.geom_type != "Polygon":
            continue
        code = int(scene.cell_classes[i])
        # Densify before reprojecting so straight UTM edges stay faithful in lon/lat.
        rows.append(
            {
                "class_code": code,
                "class_name": DEGRADATION.names[code],
                "geometry": shapely.segmentize(geom, 50.0),
            }
        )
    gdf = gpd.GeoDataFrame(
        rows, geometry="geometry", crs=grid.crs, columns=["class_code", "class_name", "geometry"]
    )
    gdf["class_code"] = gdf["class_code"].astype("int32")
    return gdf.to_crs("EPSG:4326")
