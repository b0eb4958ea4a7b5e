"""The class map beside a true-colour optical composite of the same area, as a PNG."""

from permafusion.core.classes import ClassScheme
from permafusion.core.logs import setup_step_logging
from permafusion.products.quicklook import write_quicklook
from permafusion.series.stack import per_tile

log = setup_step_logging(snakemake.log[0])
write_quicklook(
    snakemake.input.map,
    list(per_tile(list(snakemake.input.optical), snakemake.params.tiles).values()),
    snakemake.output[0],
    scheme=ClassScheme.from_mapping(snakemake.params.scheme),
    title=f"permafusion: {snakemake.wildcards.aoi}",
)
log.info("quicklook written: %s", snakemake.output[0])
