"""Train PermaFusionNet on the AOI's training patches; keep the best validation epoch."""

from pathlib import Path

from permafusion.logs import setup_step_logging
from permafusion.train import TrainSettings, train_model

log = setup_step_logging(snakemake.log[0])  # noqa: F821
settings = TrainSettings.from_mapping({**snakemake.params.settings, "threads": snakemake.threads})  # noqa: F821
log.info("training with %s", settings)
train_model(
    patches=Path(snakemake.input.patches),  # noqa: F821
    index=Path(snakemake.input.index),  # noqa: F821
    checkpoint=Path(snakemake.output.checkpoint),  # noqa: F821
    history=Path(snakemake.output.history),  # noqa: F821
    settings=settings,
    log=log,
)
