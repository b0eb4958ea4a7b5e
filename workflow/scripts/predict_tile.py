"""Class map and class probabilities of one tile: the trained model over every pixel, in overlapping
blended windows."""

import torch

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_cog, write_probabilities_cog
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.predict import class_map, predict_tile_probabilities

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
grid = GridSpec.from_mapping(snakemake.params.grid)
settings = snakemake.params.settings
log.info("tile %s (%s of the AOI's tiles)", snakemake.wildcards.tile, snakemake.params.position)
probabilities, valid = predict_tile_probabilities(
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
write_class_cog(class_map(probabilities, valid), grid, snakemake.output.classes, scheme=DEGRADATION)
write_probabilities_cog(probabilities, valid, grid, snakemake.output.probabilities, scheme=DEGRADATION)
