"""Search one sensor's items for the AOI (one month, or any date for the DEM) and save them unsigned."""

from contextlib import nullcontext

import pystac

from permafusion.core.logs import setup_step_logging
from permafusion.geo.search import EmptySearchError, SearchRequest, save_items, search_items
from permafusion.geo.stac_server import serve_local_catalog

log = setup_step_logging(snakemake.log[0])
params = dict(snakemake.params.search)
kind, url = params.pop("catalog_kind"), params.pop("url")
policy = {key: params.pop(key) for key in ("timeout_s", "retries", "backoff_s")}
request = SearchRequest(**{**params, "bbox": tuple(params["bbox"])})
local_files = sorted(snakemake.input, key=lambda f: "/items/" in f)  # collections first
where = "local catalog" if kind == "local" else url
with serve_local_catalog(local_files) if kind == "local" else nullcontext(url) as api_url:
    log.info("searching %s at %s (%s)", request.collection, where, request.datetime)
    try:
        items = search_items(api_url, request, **policy)
    except EmptySearchError as error:
        if not snakemake.params.allow_empty:
            raise
        # an empty month is normal (polar night, snow, a satellite's gap); check_items stops the run
        # only when the whole period is empty
        log.warning("%s", error)
        items = pystac.ItemCollection([])
save_items(items, snakemake.output[0])
log.info("saved %d items to %s", len(items), snakemake.output[0])
