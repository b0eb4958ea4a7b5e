"""Train one sequence model on one split; keep the best validation epoch (resumes a killed job)."""

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.dataset import SeriesSet, split_for
from permafusion.tasks.soiltemp.settings import SoilTrainSettings
from permafusion.tasks.soiltemp.task import train_soil_model

log = setup_step_logging(snakemake.log[0])
settings = SoilTrainSettings.from_mapping({**snakemake.params.settings, "threads": snakemake.threads})
series = SeriesSet.load(snakemake.input.series)
train_soil_model(
    series=series,
    codes=split_for(series, snakemake.wildcards.split, snakemake.params.split),
    checkpoint=snakemake.output.checkpoint,
    history=snakemake.output.history,
    settings=settings,
    resume="if_compatible",
    log=log,
)
