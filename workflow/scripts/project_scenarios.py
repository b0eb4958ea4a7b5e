"""Project soil temperature to 2100 under each scenario; annual means, active-layer thickness, plot."""

import torch

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.scenarios import run_projections

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
run_projections(
    series_path=snakemake.input.series,
    checkpoint=snakemake.input.checkpoint,
    settings=snakemake.params.scenarios,
    device=snakemake.params.device,
    outputs=dict(snakemake.output.items()),
    log=log,
)
