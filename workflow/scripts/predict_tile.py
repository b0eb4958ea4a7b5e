"""Class map of one tile: the trained model over every pixel, in overlapping blended windows."""

import numpy as np
import torch

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_cog
from permafusion.series.gaps import fill_gaps
from permafusion.series.stack import open_series
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.predict import class_map, load_model, observed_mask, predict_probabilities

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
grid = GridSpec.from_mapping(snakemake.params.grid)
model, norm_stats = load_model(snakemake.input.checkpoint, device="auto")
steps = snakemake.params.time_steps  # the latest months, as in the patches
inputs = {}
for sensor, variable in (("sar", "backscatter"), ("optical", "reflectance")):
    values = open_series(snakemake.input[sensor])[variable].values[-steps:]
    if values.shape[-2:] != grid.shape:
        raise ValueError(f"{sensor} composites {values.shape} do not match the tile grid {grid.shape}")
    observed = np.isfinite(values).all(axis=1)
    inputs[sensor] = fill_gaps(values, observed, snakemake.params.gap_fill[sensor])[0]
settings = snakemake.params.settings
probabilities = predict_probabilities(
    model,
    norm_stats,
    inputs["sar"],
    inputs["optical"],
    window=settings["window"],
    overlap=settings["overlap"],
    batch_size=settings["batch_size"],
)
valid = observed_mask(inputs["sar"], inputs["optical"])
classes = class_map(probabilities, valid)
log.info(
    "%s: %d of %d pixels had no observation and are no data",
    snakemake.wildcards.tile,
    int((~valid).sum()),
    valid.size,
)
write_class_cog(classes.astype(np.uint8), grid, snakemake.output[0], scheme=DEGRADATION)
