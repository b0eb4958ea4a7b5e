"""Training curves of the AOI's model: loss and validation scores per epoch, the kept epoch marked."""

import pandas as pd
import torch

from permafusion.core.logs import setup_step_logging
from permafusion.products.figures import plot_training_curves

log = setup_step_logging(snakemake.log[0])
history = pd.read_csv(snakemake.input.history)
best = torch.load(snakemake.input.checkpoint, map_location="cpu", weights_only=True).get("best_epoch")
plot_training_curves(history, snakemake.output[0], best_epoch=best)
log.info("%d epochs, kept epoch %s -> %s", len(history), best, snakemake.output[0])
