"""The patch index of one leave-one-region-out fold: the region's patches test, the others train."""

import pandas as pd

from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.learn.splits import fold_index

log = setup_step_logging(snakemake.log[0])
fold = fold_index(pd.read_csv(snakemake.input[0], keep_default_na=False), snakemake.wildcards.region)
write_csv(fold, snakemake.output[0])
log.info("fold %s: %s", snakemake.wildcards.region, fold["split"].value_counts().to_dict())
