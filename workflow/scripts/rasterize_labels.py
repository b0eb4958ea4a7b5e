"""Rasterize the AOI's ground-truth polygons onto one tile's grid, with the task's classes."""

from permafusion.core.classes import ClassScheme
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.labels import rasterize_labels, read_labels, write_label_raster

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
grid = GridSpec.from_mapping(snakemake.params.grid)
frame = read_labels(snakemake.input.labels, scheme=scheme)
raster = rasterize_labels(frame, grid, scheme=scheme)
log.info(
    "%d polygons; labeled pixels per class: %s",
    len(frame),
    {code: int((raster == code).sum()) for code in scheme.codes},
)
write_label_raster(raster, grid, snakemake.output[0])
