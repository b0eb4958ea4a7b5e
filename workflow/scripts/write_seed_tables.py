"""Tables 2-3 over training seeds: mean ± sd, paired per-seed differences, temporal diagnostics."""

from collections import defaultdict
from pathlib import Path

from permafusion.core.logs import setup_step_logging
from permafusion.tasks.degradation.seed_tables import write_seed_tables

log = setup_step_logging(snakemake.log[0])
metrics = defaultdict(list)
for method, path in zip(snakemake.params.metric_methods, snakemake.input.metrics, strict=True):
    metrics[method].append(path)
written = write_seed_tables(
    metrics=dict(metrics),
    methods=snakemake.params.methods,
    ablations=snakemake.params.ablations,
    out_dir=Path(snakemake.output[0]).parent,
)
for name in ("table2_seeds.md", "table3_seeds.md"):
    log.info("%s:\n%s", name, written[name].read_text())
