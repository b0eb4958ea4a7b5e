"""Download one station's ERA5-Land drivers from the CDS (credentials: ~/.cdsapirc, read by cdsapi)."""

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.era5 import retrieve_station

log = setup_step_logging(snakemake.log[0])
params = snakemake.params
retrieve_station(
    target=snakemake.output[0],
    source=params.source,
    lat=params.coordinates["lat"],
    lon=params.coordinates["lon"],
    start=params.start,
    end=params.end,
    variables=params.variables,
)
