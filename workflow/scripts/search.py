"""Search one sensor's items for the AOI and save them unsigned."""

from contextlib import nullcontext

from permafusion.logs import setup_step_logging
from permafusion.search import SearchRequest, save_items, search_items
from permafusion.stac_server import serve_local_catalog

log = setup_step_logging(snakemake.log[0])
params = dict(snakemake.params.search)
kind, url = params.pop("catalog_kind"), params.pop("url")
timeout_s = params.pop("timeout_s")
request = SearchRequest(**{**params, "bbox": tuple(params["bbox"])})
local_files = sorted(snakemake.input, key=lambda f: "/items/" in f)  # collections first
with serve_local_catalog(local_files) if kind == "local" else nullcontext(url) as api_url:
    log.info(
        "searching %s at %s (%s)",
        request.collection,
        "local catalog" if kind == "local" else api_url,
        request.datetime,
    )
    items = search_items(api_url, request, timeout_s=timeout_s)
save_items(items, snakemake.output[0])
log.info("saved %d items to %s", len(items), snakemake.output[0])
