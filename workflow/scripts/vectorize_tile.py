"""Polygons of one tile's class map above the minimum mapping unit, with their mean class probability."""

from permafusion.core.classes import ClassScheme
from permafusion.core.logs import setup_step_logging
from permafusion.products.maps import read_class_map
from permafusion.products.rasters import read_fraction_cog
from permafusion.products.vectors import polygonize_classes, write_vectors

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
classes, grid = read_class_map(snakemake.input.classes)
frame = polygonize_classes(
    classes,
    grid,
    scheme=scheme,
    min_area_m2=snakemake.params.settings["min_area_m2"],
    probabilities=read_fraction_cog(snakemake.input.probabilities),
    attributes={"tile": snakemake.wildcards.tile},
)
write_vectors(frame, parquet=snakemake.output[0])
log.info(
    "tile %s: %d polygons of at least %g m²",
    snakemake.wildcards.tile,
    len(frame),
    snakemake.params.settings["min_area_m2"],
)
