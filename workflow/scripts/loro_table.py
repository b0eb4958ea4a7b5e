"""Leave-one-region-out: each held-out region's test metrics, and their mean."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.learn.splits import fold_markdown, fold_table
from permafusion.tasks.degradation.tables import load_metrics

log = setup_step_logging(snakemake.log[0])
metrics = load_metrics(dict(zip(snakemake.params.regions, snakemake.input, strict=True)))
table = fold_table(metrics)
table.to_csv(snakemake.output.csv, index=False)
Path(snakemake.output.md).write_text(fold_markdown(table))
log.info("leave-one-region-out:\n%s", table.to_string(index=False))
