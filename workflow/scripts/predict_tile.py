"""Products of one tile: the trained model over every pixel, in blended windows with context from the
neighbouring tiles: class map, probabilities, uncertainty and the gate's SAR weight per month."""

import torch

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.learn.calibration import read_temperature
from permafusion.series.stack import per_tile
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.predict import TileComposites, predict_tile_products
from permafusion.tasks.degradation.products import write_tile_products

log = setup_step_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
settings = snakemake.params.settings
log.info("tile %s (%s of the AOI's tiles)", snakemake.wildcards.tile, snakemake.params.position)
context = snakemake.params.context
names = list(context["tiles"])
neighbours = []
if names:
    sar = per_tile(list(snakemake.input.context_sar), names)
    optical = per_tile(list(snakemake.input.context_optical), names)
    neighbours = [
        TileComposites(GridSpec.from_mapping(context["tiles"][n]), sar[n], optical[n]) for n in names
    ]
calibration = snakemake.input.calibration  # one path, or none for a `model` without calibration.json
calibration = [calibration] if isinstance(calibration, str) else list(calibration)
if not calibration:
    log.warning(
        "no calibration.json beside %s: probabilities are not calibrated (T = 1)", snakemake.input.checkpoint
    )
products = predict_tile_products(
    checkpoint=snakemake.input.checkpoint,
    tile=TileComposites(
        GridSpec.from_mapping(snakemake.params.grid), snakemake.input.sar, snakemake.input.optical
    ),
    neighbours=neighbours,
    extent=GridSpec.from_mapping(context["extent"]),
    time_steps=snakemake.params.time_steps,
    step_months=snakemake.params.step_months,
    gap_fill=snakemake.params.gap_fill,
    window=settings["window"],
    overlap=settings["overlap"],
    batch_size=settings["batch_size"],
    tta=settings["tta"],
    gate_level=settings["gate_level"],
    temperature=read_temperature(calibration[0] if calibration else None),
    device=snakemake.params.device,
    log=log,
)
write_tile_products(
    products,
    GridSpec.from_mapping(snakemake.params.grid),
    dict(snakemake.output),
    scheme=DEGRADATION,
    months=list(snakemake.params.months),
    gate_level=settings["gate_level"],
)
