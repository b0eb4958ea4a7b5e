"""Score every model and baseline on one split's test part: tables, predictions and series plots."""

from pathlib import Path

import torch

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.evaluate import evaluate_split

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
params = snakemake.params
split = snakemake.wildcards.split
evaluate_split(
    series_path=snakemake.input.series,
    split=split,
    split_settings=params.split,
    checkpoints={m: getattr(snakemake.input, m) for m in params.models},
    window=params.window,
    baselines=params.baselines,
    evaluate=params.evaluate,
    device=params.device,
    predictions_path=snakemake.output.predictions,
    tables_dir=Path(snakemake.output.metrics).parent,
    plot_path=snakemake.output.plot,
    log=log,
)
