"""Search one sensor's items for the AOI (a month, a summer, or any date for the DEM); save them unsigned."""

from contextlib import nullcontext

import pystac

from permafusion.core.logs import setup_step_logging
from permafusion.geo.local_catalog import missing_assets, serve_catalog_folder
from permafusion.geo.search import EmptySearchError, SearchRequest, save_items, search_items
from permafusion.geo.stac_server import serve_local_catalog

log = setup_step_logging(snakemake.log[0])
params = dict(snakemake.params.search)
kind, url = params.pop("catalog_kind"), params.pop("url")
folder = params.pop("catalog_path", None)
required = params.pop("required_assets", None) or []
policy = {key: params.pop(key) for key in ("timeout_s", "retries", "backoff_s")}
request = SearchRequest(**{**params, "bbox": tuple(params["bbox"])})
local_files = sorted(snakemake.input, key=lambda f: "/items/" in f)  # collections first
if kind == "local" and folder:
    server, where = serve_catalog_folder(folder), f"local catalog {folder}"
elif kind == "local":
    server, where = serve_local_catalog(local_files), "local catalog"
else:
    server, where = nullcontext(url), url
with server as api_url:
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
lacking = missing_assets(list(items), required)
if lacking:
    listed = "; ".join(f"item {item_id} has no asset {key!r}" for item_id, key in lacking[:10])
    raise ValueError(
        f"{len(lacking)} required asset(s) missing in {request.collection} at {where}: {listed}. The task "
        f"needs assets {required}: add them to the items (asset keys as in Planetary Computer's) or "
        "remove those items"
    )
save_items(items, snakemake.output[0])
log.info("saved %d items to %s", len(items), snakemake.output[0])
