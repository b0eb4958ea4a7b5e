"""The yearly series with its uncertainty band, the net CO2 table and the series figure."""

import json
from pathlib import Path

import pandas as pd

from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.rts.carbon import FluxFactors, carbon_table, write_carbon_table
from permafusion.tasks.rts.labels import read_slump_labels
from permafusion.tasks.rts.report import plot_series
from permafusion.tasks.rts.series import Uncertainty, true_figures, yearly_table

log = setup_step_logging(snakemake.log[0])
rows = pd.concat([pd.read_csv(path) for path in snakemake.input.rows], ignore_index=True)
scores = json.loads(Path(snakemake.input.metrics).read_text())["primary"]
labels = read_slump_labels(snakemake.input.labels, aoi_bbox=snakemake.params.aoi_bbox)
truth = true_figures(labels, snakemake.params.sites, min_area_m2=snakemake.params.min_area_m2)
records = [{**row, **truth.get((row["site"], int(row["year"])), {})} for row in rows.to_dict("records")]
series = yearly_table(
    records,
    scores=scores,
    uncertainty=Uncertainty(
        kind=snakemake.params.series["uncertainty"], flat_fraction=snakemake.params.series["flat_fraction"]
    ),
)
skipped = series[series["status"] != "ok"]
for row in skipped.itertuples():
    log.warning("%s %d: no scene (%s)", row.site, row.year, row.reason)
log.info("series:\n%s", series.drop(columns=["reason", "item"]).to_string(index=False, float_format="%.2f"))
write_csv(series, snakemake.output.series)
factors = FluxFactors(**snakemake.params.carbon)
co2 = carbon_table(series, factors)
log.info("net CO2:\n%s", co2.to_string(index=False, float_format="%.1f"))
write_carbon_table(co2, factors, snakemake.output.co2)
plot_series(series, snakemake.output.plot)
