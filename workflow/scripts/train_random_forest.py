"""Train the random-forest baseline of the comparison on per-pixel temporal features."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.experiments import train_random_forest

log = setup_step_logging(snakemake.log[0])
train_random_forest(
    patches=Path(snakemake.input.patches),
    index=Path(snakemake.input.index),
    out=Path(snakemake.output.model),
    settings=snakemake.params.settings["forest"],
    seed=snakemake.params.settings["seed"],
    threads=snakemake.threads,
    log=log,
)
