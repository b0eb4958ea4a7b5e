"""Class map of one tile: the trained model over every pixel, in overlapping blended windows."""

import numpy as np
import torch

from permafusion.composite import open_composite
from permafusion.grid import GridSpec
from permafusion.logs import setup_step_logging
from permafusion.mapping import write_class_cog
from permafusion.predict import class_map, load_model, observed_mask, predict_probabilities

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
grid = GridSpec.from_mapping(snakemake.params.grid)
model, norm_stats = load_model(snakemake.input.checkpoint, device="auto")
steps = snakemake.params.time_steps  # the latest months, as in the patches
sar = open_composite(snakemake.input.sar)["backscatter"].values[-steps:]
optical = open_composite(snakemake.input.optical)["reflectance"].values[-steps:]
if sar.shape[-2:] != grid.shape or optical.shape[-2:] != grid.shape:
    raise ValueError(f"composites {sar.shape} / {optical.shape} do not match the tile grid {grid.shape}")
settings = snakemake.params.settings
probabilities = predict_probabilities(
    model,
    norm_stats,
    sar,
    optical,
    window=settings["window"],
    overlap=settings["overlap"],
    batch_size=settings["batch_size"],
)
valid = observed_mask(sar, optical)
classes = class_map(probabilities, valid)
log.info(
    "%s: %d of %d pixels had no observation and are no data",
    snakemake.wildcards.tile,
    int((~valid).sum()),
    valid.size,
)
write_class_cog(classes.astype(np.uint8), grid, snakemake.output[0])
