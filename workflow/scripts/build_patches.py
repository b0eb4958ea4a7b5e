"""Cut 128x128 x 12-month patches from every tile, split them by spatial blocks, write Table 1."""

import rasterio

from permafusion.core.logs import setup_step_logging
from permafusion.learn.splits import assign_regions
from permafusion.series.stack import open_series
from permafusion.tasks.degradation.patches import (
    PatchSettings,
    TileSource,
    dataset_table,
    index_patches,
    write_patches,
)

log = setup_step_logging(snakemake.log[0])
settings = PatchSettings.from_mapping(snakemake.params.settings)
months = len(snakemake.params.months)
steps = slice(months - settings.time_steps, months)  # the latest months of the period
tiles, grids = [], {}
for number, (name, label_path) in enumerate(zip(snakemake.params.tiles, snakemake.input.labels, strict=True)):
    monthly = slice(number * months, (number + 1) * months)
    sar = open_series(snakemake.input.sar[monthly])["backscatter"].isel(time=steps)
    optical = open_series(snakemake.input.optical[monthly])["reflectance"].isel(time=steps)
    with rasterio.open(label_path) as dataset:
        label = dataset.read(1)
        grids[name] = (dataset.crs, dataset.transform)
    tiles.append(TileSource(name, sar, optical, label))

index = index_patches(tiles, settings)
log.info("%d patches: %s", len(index), index["split"].value_counts().to_dict())
if snakemake.params.regions:  # for leave-one-region-out
    index["region"] = assign_regions(
        index, tile_grids=grids, regions=snakemake.params.regions, patch_size=settings.size
    )
    log.info("patches per region: %s", index["region"].value_counts().to_dict())
write_patches(
    tiles,
    index,
    snakemake.output.store,
    settings,
    gap_fill=snakemake.params.gap_fill,
    progress=lambda done, total: done % 50 == 0 and log.info("patches written: %d/%d", done, total),
)
index.to_csv(snakemake.output.index, index=False)
table = dataset_table(index)
table.to_csv(snakemake.output.table, index=False)
log.info("dataset table (patches per dominant class and split):\n%s", table.to_string(index=False))
