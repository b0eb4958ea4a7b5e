"""The class map beside a true-colour optical composite of the same area, as a PNG."""

import numpy as np
from rasterio.enums import Resampling

from permafusion.composite import tile_grid
from permafusion.core.logs import setup_step_logging
from permafusion.products.maps import (
    optical_rgb,
    plot_quicklook,
    preview_grid,
    read_class_map,
    resample_to_grid,
)
from permafusion.series.stack import open_series
from permafusion.tasks.degradation.classes import DEGRADATION

log = setup_step_logging(snakemake.log[0])
classes, map_grid = read_class_map(snakemake.input.map)
grid = preview_grid(map_grid)
classes = resample_to_grid(classes, map_grid, grid, resampling=Resampling.mode, nodata=0)
rgb = np.full((3, *grid.shape), np.nan, dtype=np.float32)
months = snakemake.params.months
for first in range(0, len(snakemake.input.optical), months):
    optical = open_series(snakemake.input.optical[first : first + months])
    # the median over the months with valid data: a cloud- and snow-free view of the summer surface
    true_colour = optical["reflectance"].sel(band=["B04", "B03", "B02"]).median("time", skipna=True).values
    tile_rgb = resample_to_grid(
        true_colour.astype(np.float32), tile_grid(optical), grid, resampling=Resampling.average, nodata=np.nan
    )
    rgb = np.where(np.isfinite(tile_rgb), tile_rgb, rgb)
plot_quicklook(
    classes,
    optical_rgb(rgb),
    snakemake.output[0],
    scheme=DEGRADATION,
    title=f"permafusion: {snakemake.wildcards.aoi}",
)
log.info("quicklook written: %s", snakemake.output[0])
