"""Mosaic the tiles' class maps onto the AOI grid (window by window); write the COG and the area per class."""

from permafusion.core.classes import ClassScheme
from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import area_of_class_map, mosaic_class_maps, write_class_style

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
grid = GridSpec.from_mapping(snakemake.params.grid)
mosaic_class_maps(list(snakemake.input), grid, snakemake.output.map)
write_class_style(scheme, snakemake.output.style)  # QGIS picks up degradation.qml beside the map
areas = area_of_class_map(snakemake.output.map, scheme=scheme)
write_csv(areas, snakemake.output.areas)
log.info("map %s on %s %s:\n%s", snakemake.output.map, grid.crs, grid.shape, areas.to_string(index=False))
