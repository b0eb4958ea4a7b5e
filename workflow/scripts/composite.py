"""Monthly composite of one sensor over one tile (the rule's output name says which sensor)."""

from pathlib import Path

from permafusion.composite import (
    OpticalSettings,
    SarSettings,
    build_optical_composite,
    build_sar_composite,
    write_composite,
)
from permafusion.composite.gaps import fill_composite_gaps
from permafusion.grid import GridSpec
from permafusion.logs import setup_step_logging
from permafusion.search import load_items
from permafusion.signing import signer_for

log = setup_step_logging(snakemake.log[0])
sensor = Path(snakemake.output[0]).stem  # sar.zarr -> sar
grid = GridSpec.from_mapping(snakemake.params.grid)
items = load_items(snakemake.input.item_list)
log.info(
    "%s composite of %d items on %s %s grid, %d months",
    sensor,
    len(items),
    grid.crs,
    grid.shape,
    len(snakemake.params.months),
)
common = {
    "grid": grid,
    "months": snakemake.params.months,
    "sign": signer_for(snakemake.params.signing),
    "threads": snakemake.threads,
}
if sensor == "sar":
    composite = build_sar_composite(
        items, settings=SarSettings.from_mapping(snakemake.params.settings), **common
    )
else:
    composite = build_optical_composite(
        items, settings=OpticalSettings.from_mapping(snakemake.params.settings), **common
    )
counts = composite["valid_count"].mean(dim=("y", "x")).values
log.info(
    "mean valid observations per month: %s",
    dict(zip(snakemake.params.months, counts.round(2).tolist(), strict=True)),
)
variable = "backscatter" if sensor == "sar" else "reflectance"
composite = fill_composite_gaps(composite, variable, snakemake.params.gap_fill)
log.info(
    "gap filling (%s): %.1f%% of pixel-months filled",
    snakemake.params.gap_fill,
    100 * float(composite["filled"].mean()),
)
write_composite(composite, snakemake.output[0])
