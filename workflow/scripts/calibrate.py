"""Fit the softmax temperature on the val patches; score the calibration on the test patches."""

from pathlib import Path

import torch

from permafusion.core.files import write_json
from permafusion.core.logs import setup_step_logging
from permafusion.learn.calibration import plot_reliability
from permafusion.tasks.degradation.calibrate import calibrate

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
result = calibrate(
    checkpoint=Path(snakemake.input.checkpoint),
    patches=Path(snakemake.input.patches),
    index=Path(snakemake.input.index),
    device=snakemake.params.device,
)
write_json(result, snakemake.output.scores)
write_json({"temperature": result["temperature"], "fitted_on": "val"}, snakemake.output.temperature)
before, after = result["test"]["before"], result["test"]["after"]
plot_reliability(
    before,
    after,
    snakemake.output.plot,
    temperature=result["temperature"],
    title=f"permafusion {snakemake.wildcards.aoi}: test split ({result['test_pixels']} px)",
)
log.info(
    "temperature %.3f (val NLL %.4f -> %.4f); test ECE %.4f -> %.4f",
    result["temperature"],
    result["val_nll_before"],
    result["val_nll_after"],
    before["ece"],
    after["ece"],
)
