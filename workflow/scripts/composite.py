"""Composite of one sensor over one tile for one month."""

from permafusion.composite.job import composite_month
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.signing import signer_for

log = setup_step_logging(snakemake.log[0])
composite_month(
    sensor=snakemake.params.sensor,
    month=snakemake.wildcards.month,
    item_list=snakemake.input.item_list,
    grid=GridSpec.from_mapping(snakemake.params.grid),
    settings=snakemake.params.settings,
    sign=signer_for(snakemake.params.signing),
    out=snakemake.output[0],
    max_failed_read_fraction=snakemake.params.max_failed_read_fraction,
    verify=snakemake.params.verify,
    gdal_cache_mb=snakemake.params.gdal_cache_mb,
    threads=snakemake.threads,
    log=log,
)
