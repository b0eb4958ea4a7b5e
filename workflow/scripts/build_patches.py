"""Cut training patches from every tile, split them by spatial blocks, write the index and Table 1."""

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.patches import PatchSettings, build_patch_set

log = setup_step_logging(snakemake.log[0])
build_patch_set(
    tiles=snakemake.params.tiles,
    sar=list(snakemake.input.sar),
    optical=list(snakemake.input.optical),
    labels=list(snakemake.input.labels),
    settings=PatchSettings.from_mapping(snakemake.params.settings),
    gap_fill=snakemake.params.gap_fill,
    regions=snakemake.params.regions,
    store=snakemake.output.store,
    index_path=snakemake.output.index,
    table_path=snakemake.output.table,
    log=log,
)
