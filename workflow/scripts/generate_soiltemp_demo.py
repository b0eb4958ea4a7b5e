"""Generate the synthetic station network of the soil_temperature demo (tidy CSV tables)."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.demo.soiltemp import generate_soiltemp_demo

log = setup_step_logging(snakemake.log[0])
params = snakemake.params
log.info(
    "synthetic network: %d stations, %s..%s, seed %d", params.stations, params.start, params.end, params.seed
)
generate_soiltemp_demo(
    out_dir=Path(snakemake.output.stations).parent,
    start=params.start,
    end=params.end,
    stations=params.stations,
    seed=params.seed,
)
