"""Train the slump U-Net on the non-test images of some sites (primary model: all; a fold: all but one)."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.rts.dataset import TileSet
from permafusion.tasks.rts.train import RtsTrainSettings, train_slump_model

log = setup_step_logging(snakemake.log[0])
settings = RtsTrainSettings.from_mapping({**snakemake.params.settings, "threads": snakemake.threads})
log.info("training on sites %s with %s", snakemake.params.sites, settings)
train_slump_model(
    TileSet.load(snakemake.input.tiles),
    sites=list(snakemake.params.sites),
    settings=settings,
    checkpoint=Path(snakemake.output.checkpoint),
    history=Path(snakemake.output.history),
    # a killed job started again continues from its last epoch; other settings or tiles start over
    resume="if_compatible",
    log=log,
)
