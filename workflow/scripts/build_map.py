"""Mosaic the tiles' class maps onto the AOI grid; write the COG and the area per class."""

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import area_by_class, mosaic_class_maps, write_class_cog
from permafusion.tasks.degradation.classes import DEGRADATION

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.grid)
classes = mosaic_class_maps(list(snakemake.input), grid)
write_class_cog(classes, grid, snakemake.output.map, scheme=DEGRADATION)
areas = area_by_class(classes, grid.resolution, scheme=DEGRADATION)
areas.to_csv(snakemake.output.areas, index=False)
log.info("map %s on %s %s:\n%s", snakemake.output.map, grid.crs, grid.shape, areas.to_string(index=False))
