"""Tables 2 and 3 with object scores, intervals and the threshold baseline."""

import json
from pathlib import Path

from permafusion.core.files import write_csv, write_json
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.rts.assess import assess
from permafusion.tasks.rts.dataset import TileSet
from permafusion.tasks.rts.labels import read_slump_labels
from permafusion.tasks.rts.layout import site_specs

log = setup_step_logging(snakemake.log[0])
settings = dict(snakemake.params.settings)
sites = site_specs(
    snakemake.params.sites,
    years=snakemake.params.years,
    scene_tifs=snakemake.input.tifs,
    scene_infos=snakemake.input.infos,
    terrains=snakemake.input.terrains,
)
described = {name: value for name, value in json.loads(Path(snakemake.input.images).read_text()).items()}
table2, table3, summary = assess(
    tiles=TileSet.load(snakemake.input.tiles),
    described=described,
    sites=sites,
    labels=read_slump_labels(snakemake.input.labels, aoi_bbox=snakemake.params.aoi_bbox),
    primary=Path(snakemake.input.primary),
    loso=dict(zip(snakemake.params.loso_sites, map(Path, snakemake.input.loso), strict=True)),
    **settings,
)
columns = [
    "model",
    "site",
    "precision",
    "precision_lo",
    "precision_hi",
    "recall",
    "recall_lo",
    "recall_hi",
    "f1",
    "f1_lo",
    "f1_hi",
]
log.info("Table 2:\n%s", table2[columns].to_string(index=False, float_format="%.3f"))
if len(table3):
    log.info(
        "Table 3:\n%s",
        table3[["model", "site", "f1", "f1_lo", "f1_hi"]].to_string(index=False, float_format="%.3f"),
    )
write_csv(table2, snakemake.output.table2)
write_csv(table3, snakemake.output.table3)
write_json(summary, snakemake.output.metrics)
