"""Train a network of the registry (``settings.model``) on a split of the patches; keep the best epoch.

Used by the main model (`train`), the comparison's networks (`train_experiment`) and the
leave-one-region-out folds (`loro_train`). With `cluster.train_processes` above 1 the training runs under
torchrun with DistributedDataParallel inside the job (one process per GPU, or gloo processes on CPU).
"""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.train import TrainSettings, torchrun_training, train_model

log = setup_step_logging(snakemake.log[0])
settings = TrainSettings.from_mapping({**snakemake.params.settings, "threads": snakemake.threads})
processes = getattr(snakemake.params, "processes", 1)
log.info("training with %s in %d process(es)", settings, processes)
files = {
    "patches": Path(snakemake.input.patches),
    "index": Path(snakemake.input.index),
    "checkpoint": Path(snakemake.output.checkpoint),
    "history": Path(snakemake.output.history),
}
if processes > 1:
    torchrun_training(
        nprocs=processes, settings=settings, training=snakemake.params.training, log=log, **files
    )
else:
    train_model(
        **files,
        settings=settings,
        # a killed job started again continues from its last epoch; other settings or patches start over
        resume="if_compatible",
        training=snakemake.params.training,
        log=log,
    )
