"""Tables 1-3 of the paper for one AOI: patches per class and split, methods, ablations (CSV + Markdown)."""

from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.tables import write_tables

log = setup_step_logging(snakemake.log[0])
metrics = dict(zip(snakemake.params.metric_methods, snakemake.input.metrics, strict=True))
written = write_tables(
    index=Path(snakemake.input.index),
    metrics=metrics,
    methods=snakemake.params.methods,
    ablations=snakemake.params.ablations,
    out_dir=Path(snakemake.output[0]).parent,
)
for name in ("table2.md", "table3.md"):
    log.info("%s:\n%s", name, written[name].read_text())
