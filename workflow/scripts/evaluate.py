"""Score the trained model and a majority-class baseline on the held-out test patches.

The confusion matrices per labelled region are kept: Tables 2 and 3 use this file for the full model and
pair its bootstrap with the other methods'.
"""

from pathlib import Path

import torch

from permafusion.core.files import write_json
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.evaluate import evaluate

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
metrics = evaluate(
    checkpoint=Path(snakemake.input.checkpoint),
    patches=Path(snakemake.input.patches),
    index=Path(snakemake.input.index),
    split="test",
    device=snakemake.params.device,
    keep_unit_confusion=True,
)
write_json(metrics, snakemake.output[0])
log.info(
    "test split: model mF1 %.3f OA %.3f; majority baseline mF1 %.3f OA %.3f",
    metrics["model"]["mean_f1"],
    metrics["model"]["overall_accuracy"],
    metrics["majority_baseline"]["mean_f1"],
    metrics["majority_baseline"]["overall_accuracy"],
)
