"""Score the trained model and a majority-class baseline on the held-out test patches."""

import json
import os
from pathlib import Path

import torch

from permafusion.evaluate import evaluate
from permafusion.logs import setup_step_logging

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
metrics = evaluate(
    checkpoint=Path(snakemake.input.checkpoint),
    patches=Path(snakemake.input.patches),
    index=Path(snakemake.input.index),
    split="test",
)
output = Path(snakemake.output[0])
tmp = output.with_name(output.name + ".tmp")
tmp.write_text(json.dumps(metrics, indent=2))
os.replace(tmp, output)
log.info(
    "test split: model mF1 %.3f OA %.3f; majority baseline mF1 %.3f OA %.3f",
    metrics["model"]["mean_f1"],
    metrics["model"]["overall_accuracy"],
    metrics["majority_baseline"]["mean_f1"],
    metrics["majority_baseline"]["overall_accuracy"],
)
