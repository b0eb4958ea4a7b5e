"""Leave-one-region-out: each held-out region's test metrics, and their mean."""

from permafusion.core.files import write_csv, write_text
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.tables import fold_markdown, fold_table, load_metrics

log = setup_step_logging(snakemake.log[0])
metrics = load_metrics(dict(zip(snakemake.params.regions, snakemake.input, strict=True)))
table = fold_table(metrics)
write_csv(table, snakemake.output.csv)
write_text(fold_markdown(table), snakemake.output.md)
log.info("leave-one-region-out:\n%s", table.to_string(index=False))
