"""Leave-one-region-out: each held-out region's test metrics, and their mean."""

import json
from pathlib import Path

from permafusion.folds import fold_markdown, fold_table
from permafusion.logs import setup_step_logging

log = setup_step_logging(snakemake.log[0])
metrics = {
    region: json.loads(Path(path).read_text())
    for region, path in zip(snakemake.params.regions, snakemake.input, strict=True)
}
table = fold_table(metrics)
table.to_csv(snakemake.output.csv, index=False)
Path(snakemake.output.md).write_text(fold_markdown(table))
log.info("leave-one-region-out:\n%s", table.to_string(index=False))
