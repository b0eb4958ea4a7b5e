"""One comparison table of every split, model and baseline (RMSE per depth with 95 % intervals)."""

from permafusion.core.files import write_csv, write_text
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.soiltemp.evaluate import combine_comparisons, markdown

log = setup_step_logging(snakemake.log[0])
table = combine_comparisons(dict(snakemake.input.items()))
write_csv(table, snakemake.output.csv)
write_text(
    markdown(table, title="Test RMSE (°C) per depth, every split, with station-bootstrap 95 % intervals"),
    snakemake.output.markdown,
)
log.info("comparison of %d rows", len(table))
