"""Elevation and slope of one tile from the Copernicus DEM items."""

from permafusion.composite.terrain import build_terrain, write_terrain
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.search import load_items
from permafusion.geo.signing import signer_for

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.grid)
items = load_items(snakemake.input.item_list)
log.info("terrain of %s %s from %d DEM items", grid.crs, grid.shape, len(items))
sign = signer_for(snakemake.params.signing)
terrain = build_terrain(items, grid=grid, sign=sign, threads=snakemake.threads)
log.info(
    "elevation %.0f..%.0f m, mean slope %.1f degrees",
    float(terrain[0].min()),
    float(terrain[0].max()),
    float(terrain[1].mean()),
)
write_terrain(terrain, grid, snakemake.output[0])
