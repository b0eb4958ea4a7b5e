"""Monthly composite of one sensor over one tile (the rule's output name says which sensor)."""

from pathlib import Path

from permafusion.composite import (
    OpticalSettings,
    SarSettings,
    build_optical_composite,
    build_sar_composite,
    write_composite,
)
from permafusion.grid import GridSpec
from permafusion.logs import setup_step_logging
from permafusion.search import load_items
from permafusion.signing import signer_for

log = setup_step_logging(snakemake.log[0])  # noqa: F821
sensor = Path(snakemake.output[0]).stem  # noqa: F821  sar.zarr -> sar
grid = GridSpec.from_mapping(snakemake.params.grid)  # noqa: F821
items = load_items(snakemake.input.item_list)  # noqa: F821
log.info("%s composite of %d items on %s %s grid, %d months", sensor, len(items), grid.crs, grid.shape,
         len(snakemake.params.months))  # noqa: F821
common = {"grid": grid, "months": snakemake.params.months, "sign": signer_for(snakemake.params.signing),  # noqa: F821
          "threads": snakemake.threads}  # noqa: F821
if sensor == "sar":
    composite = build_sar_composite(items, settings=SarSettings.from_mapping(snakemake.params.settings), **common)  # noqa: F821
else:
    composite = build_optical_composite(items, settings=OpticalSettings.from_mapping(snakemake.params.settings), **common)  # noqa: F821
counts = composite["valid_count"].mean(dim=("y", "x")).values
log.info("mean valid observations per month: %s", dict(zip(snakemake.params.months, counts.round(2).tolist())))  # noqa: F821
write_composite(composite, snakemake.output[0])  # noqa: F821
