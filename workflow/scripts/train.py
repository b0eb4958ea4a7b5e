"""Train a network of the registry (``settings.model``) on a split of the patches; keep the best epoch.

Used by the main model (`train`), the comparison's networks (`train_experiment`) and the
leave-one-region-out folds (`loro_train`).
"""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.train import TrainSettings, train_model

log = setup_step_logging(snakemake.log[0])
settings = TrainSettings.from_mapping({**snakemake.params.settings, "threads": snakemake.threads})
log.info("training with %s", settings)
train_model(
    patches=Path(snakemake.input.patches),
    index=Path(snakemake.input.index),
    checkpoint=Path(snakemake.output.checkpoint),
    history=Path(snakemake.output.history),
    settings=settings,
    # a killed job started again continues from its last epoch; other settings or patches start over
    resume="if_compatible",
    training=snakemake.params.training,
    log=log,
)
