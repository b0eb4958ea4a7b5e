"""Generate the synthetic demo scene, its COGs, labels and local STAC catalog."""

import datetime as dt
from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.demo import generate_demo_data
from permafusion.geo.grid import GridSpec

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.grid)
out_dir = Path(snakemake.output.labels).parent
log.info(
    "generating demo data on %s %s, seed %d, into %s", grid.crs, grid.shape, snakemake.params.seed, out_dir
)
generate_demo_data(
    grid=grid,
    start=dt.date.fromisoformat(snakemake.params.start),
    end=dt.date.fromisoformat(snakemake.params.end),
    seed=snakemake.params.seed,
    history_years=snakemake.params.history_years,
    cell_size_m=float(snakemake.params.cell_size_m),
    labeled_fraction=float(snakemake.params.labeled_fraction),
    out_dir=out_dir,
)
