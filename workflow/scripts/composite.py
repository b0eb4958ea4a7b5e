"""Composite of one sensor over one tile for one month."""

from permafusion.composite import (
    OpticalSettings,
    SarSettings,
    build_optical_composite,
    build_sar_composite,
)
from permafusion.composite.read import drop_unreadable, set_gdal_cache
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.search import load_items
from permafusion.geo.signing import signer_for
from permafusion.geo.tiles import items_over_grid

log = setup_step_logging(snakemake.log[0])
sensor, month = snakemake.params.sensor, snakemake.wildcards.month
grid = GridSpec.from_mapping(snakemake.params.grid)
items = items_over_grid(load_items(snakemake.input.item_list), grid)
log.info("%s composite of %s: %d items over the tile %s %s", sensor, month, len(items), grid.crs, grid.shape)
sign = signer_for(snakemake.params.signing)
set_gdal_cache(snakemake.params.gdal_cache_mb)
if sensor == "sar":
    settings = SarSettings.from_mapping(snakemake.params.settings)
    assets = list(settings.polarizations)
else:
    settings = OpticalSettings.from_mapping(snakemake.params.settings)
    assets = [*settings.bands, settings.scl_asset]
if snakemake.params.max_failed_read_fraction > 0 and items:
    # open every scene first: unreadable ones are skipped and reported, within the allowed share
    items, unreadable = drop_unreadable(
        items, assets=assets, sign=sign, max_failed_read_fraction=snakemake.params.max_failed_read_fraction
    )
# streamed row by row into the store (written atomically): a full tile-month never sits in memory
common = {
    "grid": grid,
    "months": [month],
    "sign": sign,
    "threads": snakemake.threads,
    "out": snakemake.output[0],
}
if sensor == "sar":
    composite = build_sar_composite(items, settings=settings, **common)
else:
    composite = build_optical_composite(items, settings=settings, **common)
counts = composite["valid_count"]
log.info(
    "mean valid observations %.2f; %.1f%% of pixels observed",
    float(counts.mean()),
    100 * float((counts > 0).mean()),
)
