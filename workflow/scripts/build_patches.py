"""Cut 128x128 x 12-month patches from every tile, split them by spatial blocks, write Table 1."""

import rasterio

from permafusion.composite import open_composite
from permafusion.logs import setup_step_logging
from permafusion.patches import PatchSettings, TileSource, dataset_table, index_patches, write_patches

log = setup_step_logging(snakemake.log[0])
settings = PatchSettings.from_mapping(snakemake.params.settings)
tiles = []
for name, sar_path, optical_path, label_path in zip(
    snakemake.params.tiles,
    snakemake.input.sar,
    snakemake.input.optical,
    snakemake.input.labels,
    strict=True,
):
    sar, optical = open_composite(sar_path), open_composite(optical_path)
    if sar.sizes["time"] < settings.time_steps:
        raise ValueError(f"{sar_path} has {sar.sizes['time']} months; patches need {settings.time_steps}")
    with rasterio.open(label_path) as dataset:
        label = dataset.read(1)
    steps = slice(-settings.time_steps, None)  # the latest months of the period
    tiles.append(
        TileSource(name, sar["backscatter"].isel(time=steps), optical["reflectance"].isel(time=steps), label)
    )

index = index_patches(tiles, settings)
log.info("%d patches: %s", len(index), index["split"].value_counts().to_dict())
write_patches(
    tiles,
    index,
    snakemake.output.store,
    settings,
    progress=lambda done, total: done % 50 == 0 and log.info("patches written: %d/%d", done, total),
)
index.to_csv(snakemake.output.index, index=False)
table = dataset_table(index)
table.to_csv(snakemake.output.table, index=False)
log.info("dataset table (patches per dominant class and split):\n%s", table.to_string(index=False))
