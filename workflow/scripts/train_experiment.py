"""Train one method of the comparison: a network of the registry like the main model, or the random forest."""

from pathlib import Path

from permafusion.experiments import RANDOM_FOREST, train_random_forest
from permafusion.logs import setup_step_logging
from permafusion.train import TrainSettings, train_model

log = setup_step_logging(snakemake.log[0])
method = snakemake.params.method
if method == RANDOM_FOREST:
    train_random_forest(
        patches=Path(snakemake.input.patches),
        index=Path(snakemake.input.index),
        out=Path(snakemake.output.model),
        settings=snakemake.params.settings["forest"],
        seed=snakemake.params.settings["seed"],
        threads=snakemake.threads,
        log=log,
    )
else:
    settings = TrainSettings.from_mapping({**snakemake.params.settings, "threads": snakemake.threads})
    log.info("training %s with %s", method, settings)
    train_model(
        patches=Path(snakemake.input.patches),
        index=Path(snakemake.input.index),
        checkpoint=Path(snakemake.output.checkpoint),
        history=Path(snakemake.output.history),
        settings=settings,
        # a killed job started again continues from its last epoch; other settings or patches start over
        resume="if_compatible",
        log=log,
    )
