"""Class map of one tile: the trained model over every pixel, in overlapping blended windows."""

import torch

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_cog
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.predict import predict_tile

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
grid = GridSpec.from_mapping(snakemake.params.grid)
settings = snakemake.params.settings
classes = predict_tile(
    checkpoint=snakemake.input.checkpoint,
    sar=list(snakemake.input.sar),
    optical=list(snakemake.input.optical),
    grid=grid,
    time_steps=snakemake.params.time_steps,
    gap_fill=snakemake.params.gap_fill,
    window=settings["window"],
    overlap=settings["overlap"],
    batch_size=settings["batch_size"],
    device=snakemake.params.device,
    log=log,
)
write_class_cog(classes, grid, snakemake.output[0], scheme=DEGRADATION)
