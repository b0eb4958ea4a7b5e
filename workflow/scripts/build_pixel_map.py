"""Mosaic one per-pixel product of the tiles onto the AOI grid as a COG, window by window."""

from rasterio.enums import Resampling

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.rasters import mosaic_to_cog

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.grid)
mosaic_to_cog(list(snakemake.input), grid, snakemake.output[0], resampling=Resampling.bilinear)
log.info("%s from %d tiles on %s %s", snakemake.output[0], len(snakemake.input), grid.crs, grid.shape)
