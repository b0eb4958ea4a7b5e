"""Elevation, slope and boxcar-smoothed slope of one site from the DEM items."""

import numpy as np

from permafusion.composite.terrain import boxcar_smooth, build_terrain, write_terrain
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.search import load_items
from permafusion.geo.signing import signer_for

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.sites[snakemake.wildcards.site]["grid"])
items = load_items(snakemake.input.item_list)
terrain = build_terrain(
    items, grid=grid, sign=signer_for(snakemake.params.signing), threads=snakemake.threads
)
window = snakemake.params.slope_window
smoothed = boxcar_smooth(terrain[1], window)
log.info(
    "%s: mean slope %.1f degrees, smoothed over %d px",
    snakemake.wildcards.site,
    float(np.nanmean(smoothed)),
    window,
)
write_terrain(
    np.concatenate([terrain, smoothed[None]]),
    grid,
    snakemake.output[0],
    bands=(("elevation", "m"), ("slope", "degree"), (f"slope_boxcar_{window}", "degree")),
)
