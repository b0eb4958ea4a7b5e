"""Rasterize the AOI's ground-truth polygons onto one tile's grid."""

import numpy as np
import rasterio

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.labels import rasterize_labels, read_labels
from permafusion.tasks.degradation.classes import DEGRADATION

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.grid)
frame = read_labels(snakemake.input.labels, scheme=DEGRADATION)
raster = rasterize_labels(frame, grid, scheme=DEGRADATION)
log.info(
    "%d polygons; labeled pixels per class: %s",
    len(frame),
    {c: int((raster == c).sum()) for c in range(1, 5)},
)
profile = {**grid.raster_profile(dtype="uint8", nodata=0), "compress": "deflate", "tiled": True}
with rasterio.open(snakemake.output[0], "w", **profile) as dataset:
    dataset.write(raster.astype(np.uint8), 1)
