"""Generate the synthetic thaw-slump scene: Sentinel-2 COGs per summer, DEM, STAC folder, dated outlines."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.demo.rts.generate import generate_rts_demo

log = setup_step_logging(snakemake.log[0])
log.info(
    "thaw-slump demo: sites %s, years %s, seed %d",
    list(snakemake.params.sites),
    snakemake.params.years,
    snakemake.params.seed,
)
generate_rts_demo(
    aoi_bbox=snakemake.params.aoi_bbox,
    sites=snakemake.params.sites,
    years=snakemake.params.years,
    seed=snakemake.params.seed,
    stac_dir=Path(snakemake.output.stac),
    labels=Path(snakemake.output.labels),
)
