"""Daily drivers of every station from its CDS downloads, as the tidy drivers table."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.era5 import drivers_table
from permafusion.tasks.soiltemp.tables import read_stations

log = setup_step_logging(snakemake.log[0])
stations = read_stations(snakemake.input.stations)
files = {Path(path).stem: [path] for path in snakemake.input.files}
drivers_table(stations, files, variables=snakemake.params.variables, out=snakemake.output[0], log=log)
