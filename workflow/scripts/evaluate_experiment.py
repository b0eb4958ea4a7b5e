"""Score one method of the comparison on the held-out test patches (same metrics and bootstrap for all)."""

from pathlib import Path

import torch

from permafusion.core.files import write_json
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.experiments import evaluate_experiment

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
metrics = evaluate_experiment(
    method=snakemake.params.method,
    model_file=Path(snakemake.input.model),
    patches=Path(snakemake.input.patches),
    index=Path(snakemake.input.index),
    split="test",
    device=snakemake.params.device,
)
write_json(metrics, snakemake.output[0])
model = metrics["model"]
log.info(
    "%s on %d test patches: OA %.3f %s, mF1 %.3f %s, kappa %.3f",
    snakemake.params.method,
    metrics["patches"],
    model["overall_accuracy"],
    model["ci95"]["overall_accuracy"],
    model["mean_f1"] if model["mean_f1"] is not None else float("nan"),
    model["ci95"]["mean_f1"],
    model["kappa"] if model["kappa"] is not None else float("nan"),
)
