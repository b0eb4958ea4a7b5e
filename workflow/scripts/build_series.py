"""Check the tidy tables and build the task's daily series (stations x days x features, targets)."""

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.dataset import series_from_files

log = setup_step_logging(snakemake.log[0])
params = snakemake.params
series = series_from_files(
    stations=snakemake.input.stations,
    observations=snakemake.input.observations,
    drivers=snakemake.input.drivers,
    variables=params.variables,
    start=params.start,
    end=params.end,
    band_edges=params.band_edges,
    reference_years=params.reference_years,
    max_gap_days=params.max_gap_days,
)
log.info(
    "%d stations x %d days, %d features, depths %s, %d observations",
    len(series.stations),
    len(series.dates),
    len(series.feature_names),
    series.depths,
    int((series.targets == series.targets).sum()),
)
series.save(snakemake.output.arrays)
