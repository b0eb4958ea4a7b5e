# The thaw-slump task (seed 001): a scene per site and summer, slope, tiles, the U-Net (primary model and
import sys

# leave-one-site-out folds), Tables 2 and 3, yearly masks and polygons, the area series and CO2.
import shapely.geometry

from permafusion.geo.grid import grid_for_bbox
from permafusion.tasks.rts.classes import RTS

CLASS_SCHEME = RTS
RTS_CONFIG = config["rts"]
YEARS = list(range(AOI.start.year, AOI.end.year + 1))
SITES = {name: [float(v) for v in bbox] for name, bbox in (AOI_SETTINGS.get("sites") or {AOI.name: list(AOI.bbox)}).items()}
for _site, _bbox in SITES.items():
    if not shapely.geometry.box(*AOI.bbox).contains(shapely.geometry.box(*_bbox)):
        raise WorkflowError(f"site '{_site}' {_bbox} in {AOI_FILE} is not inside the AOI bbox {list(AOI.bbox)}: "
                            "fix the site or widen `bbox`")
SITE_GRIDS = {name: grid_for_bbox(tuple(bbox), config["resolution"]) for name, bbox in SITES.items()}
# the DEM is searched and read only for the slope channel (drop `slope` from rts.train.channels without a DEM)
HAS_DEM = "slope" in RTS_CONFIG["train"]["channels"]
if HAS_DEM and not AOI.catalog.collections.get("dem"):
    raise WorkflowError(f"rts.train.channels uses `slope`, but the catalog of {AOI_FILE} names no `dem` collection: "
                        "add one, or drop slope from `rts.train.channels`")
if RTS_CONFIG["tile_size"] % 16:
    raise WorkflowError(f"rts.tile_size {RTS_CONFIG['tile_size']} must be a multiple of 16 (the U-Net pools 4 times)")
# leave-one-site-out needs at least two sites
LOSO_SITES = list(SITES) if len(SITES) > 1 else []
REQUIRED_OPTICAL_ASSETS = ["B02", "B03", "B04", "B08", "SCL"]


wildcard_constraints:
    site="[A-Za-z0-9_-]+",
    year="[0-9]{4}",


def site_params():
    return {name: {"grid": SITE_GRIDS[name].to_mapping(), "bbox": SITES[name]} for name in SITES}


def get_summer_search(wildcards):
    summer = RTS_CONFIG["summer"]
    params = search_request("optical")
    params["datetime"] = f"{wildcards.year}-{summer['start']}T00:00:00Z/{wildcards.year}-{summer['end']}T23:59:59Z"
    params["max_cloud"] = RTS_CONFIG["scene"]["max_cloud"]
    params["required_assets"] = REQUIRED_OPTICAL_ASSETS
    return params


def get_summer_months(wildcards):
    """The months of the year's summer window, for summer median composites."""
    first, last = (int(RTS_CONFIG["summer"][key][:2]) for key in ("start", "end"))
    return [f"{wildcards.year}-{month:02d}" for month in range(first, last + 1)]


def rts_path(*parts):
    return aoi_path("rts", *parts)


def scene_files(suffix):
    return [rts_path("scenes", site, f"{year}.{suffix}") for site in SITES for year in YEARS]


def site_terrains():
    return [rts_path("terrain", f"{site}.tif") for site in SITES] if HAS_DEM else []


def get_site_scenes(wildcards):
    return {
        "tifs": [rts_path("scenes", wildcards.site, f"{year}.tif") for year in YEARS],
        "infos": [rts_path("scenes", wildcards.site, f"{year}.json") for year in YEARS],
        "terrain": [rts_path("terrain", f"{wildcards.site}.tif")] if HAS_DEM else [],
    }


def get_site_terrain(wildcards):
    return [rts_path("terrain", f"{wildcards.site}.tif")] if HAS_DEM else []


def get_rts_train_settings():
    return {**RTS_CONFIG["train"], "device": config["device"]}


def get_loso_training_sites(wildcards):
    """Every site but the held-out one."""
    return [site for site in SITES if site != wildcards.site]


def site_products(site):
    return {
        year: {
            "mask": rts_path("maps", site, f"{year}.tif"),
            "gpkg": rts_path("polygons", site, f"{year}.gpkg"),
            "parquet": rts_path("polygons", site, f"{year}.parquet"),
        }
        for year in YEARS
    }


def final_outputs():
    """Tables, series, CO2 and every year's products when the AOI has labels; otherwise the scenes."""
    if LABELS:
        products = [path for site in SITES for files in site_products(site).values() for path in files.values()]
        return products + [
            rts_path("tables", "table2.csv"),
            rts_path("tables", "table3.csv"),
            rts_path("series.csv"),
            rts_path("co2.csv"),
            rts_path("series.png"),
        ]
    print(f"AOI {AOI.name} has no labels: the run stops after the yearly scenes and the slope. Set `labels` in "
          f"{AOI_FILE} to slump polygons with a `year` column to train and map (see the README).", file=sys.stderr)
    return scene_files("tif") + site_terrains()


if IS_DEMO:

    include: "demo.smk"


include: "data.smk"
include: "model.smk"
include: "map.smk"
