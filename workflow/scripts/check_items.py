"""Count a sensor's items per month; stop the run if the whole period found none."""

import pandas as pd

from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.geo.search import EmptySearchError, load_items

log = setup_step_logging(snakemake.log[0])
search = snakemake.params.search
counts = pd.DataFrame(
    {"month": snakemake.params.months, "items": [len(load_items(path)) for path in snakemake.input]}
)
log.info("%s items per month:\n%s", search["collection"], counts.to_string(index=False))
if counts["items"].sum() == 0:
    hints = "widen `bbox` or the period (`start`, `end`) in the AOI file"
    if search.get("max_cloud") is not None:
        hints += f", or raise `optical.max_cloud` (now {search['max_cloud']})"
    raise EmptySearchError(
        f"no {search['collection']} item over bbox {search['bbox']} in {search['datetime']}: {hints}"
    )
write_csv(counts, snakemake.output[0])
