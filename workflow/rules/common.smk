# Config, the AOI and path helpers: settings are read and validated here, once, with every default from
# workflow/schemas; rules get narrow slices of them through params.
import sys
from collections import defaultdict
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from permafusion.core.cluster import attempt_scaled, gpu_model_for, gpus_for
from permafusion.geo.aoi import AOIError, aoi_from_mapping
from permafusion.geo.plan import PlanTooLarge, RunSize, check_run_size, tiles_in_zones
from permafusion.geo.tiles import map_grid, processing_tiles, zone_grids

# sections of config/config.yaml an AOI file may override
OVERRIDABLE_SECTIONS = ("search", "composite", "sar", "optical", "patches", "train", "predict", "vectors",
                        "experiments", "soil_temperature", "rts")
# tasks on point time series: their AOIs list stations, not a bbox and a catalog, and no raster stage runs
STATION_TASKS = ("soil_temperature",)


def load_aoi_settings(config):
    aoi_dir = Path(config["aoi_dir"])
    path = aoi_dir / f"{config['aoi']}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in aoi_dir.glob("*.yaml"))
        raise WorkflowError(f"AOI '{config['aoi']}' not found: no file {path}. Known AOIs: {', '.join(known)}. "
                            f"Set --config aoi=<name>, or add {path}.")
    try:
        settings = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise WorkflowError(f"AOI file {path} is not valid YAML: {error}") from None
    if not isinstance(settings, dict):
        raise WorkflowError(f"AOI file {path} is empty or not a mapping of settings (it holds "
                            f"{type(settings).__name__}): write `name:`, `bbox:`, `start:`, `end:` and `catalog:` "
                            "as in config/aois/tibet.yaml")
    try:
        validate(settings, schema="../schemas/aoi.schema.yaml")
    except Exception as error:
        raise WorkflowError(f"AOI file {path} is invalid: {error}") from None
    if settings["name"] != config["aoi"]:
        raise WorkflowError(f"AOI file {path} has name '{settings['name']}': make it '{config['aoi']}'")
    return settings, path


def override_sections(config, aoi_settings, path):
    """Merge the AOI file's sections into config, naming the AOI file and section when one is wrong."""
    for section in OVERRIDABLE_SECTIONS:
        if section not in aoi_settings:
            continue
        merged = {**config, section: {**config.get(section, {}), **aoi_settings[section]}}
        try:
            validate(merged, schema="../schemas/config.schema.yaml")
        except Exception as error:
            reason = str(error).replace("Error validating config file.", "").replace("ValidationError:", "")
            reason = " ".join(reason.split("Failed validating")[0].split())
            raise WorkflowError(f"AOI file {path}, section `{section}`: {reason}. Fix `{section}` in {path}; every "
                                "key and its default are in workflow/schemas/config.schema.yaml") from None
        config.update(merged)


validate(config, schema="../schemas/config.schema.yaml")
AOI_SETTINGS, AOI_FILE = load_aoi_settings(config)
override_sections(config, AOI_SETTINGS, AOI_FILE)
TASK = AOI_SETTINGS["task"]
CLUSTER = config["cluster"]
RESULTS = config["results"]
IS_DEMO = "demo" in AOI_SETTINGS
# the demo generator's settings; `demo_seed` on the command line draws another scene of the same generator
DEMO_SETTINGS = {**(AOI_SETTINGS.get("demo") or {}),
                 **({} if config["demo_seed"] is None else {"seed": config["demo_seed"]})}
RASTER_TASK = TASK not in STATION_TASKS
if RASTER_TASK:
    try:
        AOI = aoi_from_mapping(AOI_SETTINGS, extent=config["extent"], source=str(AOI_FILE))
    except AOIError as error:
        raise WorkflowError(str(error)) from None

    MONTHS = AOI.months()
    # calendar years mapped each on its own with the same model (`years:`), and the change between them
    YEARS = list(AOI.years)
    AOI_TILES = processing_tiles(AOI.bbox, tile_size_px=config["tile_size_px"], resolution=config["resolution"])
    try:  # `zones` runs part of an AOI of several UTM zones
        TILES = {tile.name: tile for tile in tiles_in_zones(AOI_TILES, [int(z) for z in config["zones"]],
                                                                   source=str(AOI_FILE))}
    except ValueError as error:
        raise WorkflowError(str(error)) from None
    # one map per UTM zone: an AOI of several zones has map/<EPSG>/..., also when run a zone at a time
    ZONE_GRIDS = zone_grids(list(TILES.values()))
    ZONED_MAPS = len({tile.grid.epsg for tile in AOI_TILES}) > 1
    ZONE_TILES = defaultdict(list)
    for _name, _tile in TILES.items():
        ZONE_TILES[_tile.grid.epsg].append(_name)
    # only `{results}` is substituted, so a path may hold other braces
    LABELS = (AOI_SETTINGS.get("labels") or "").replace("{results}", RESULTS) or None
    # a local catalog folder (`catalog: {kind: local, path: DIR}`), served by rustac for every search
    CATALOG_PATH = (AOI.catalog.path or "").replace("{results}", RESULTS) or None
    if CATALOG_PATH and not IS_DEMO and not Path(CATALOG_PATH).is_dir():
        raise WorkflowError(f"local catalog folder {CATALOG_PATH} does not exist: fix `catalog.path` in {AOI_FILE}")
    if LABELS and not IS_DEMO and not Path(LABELS).is_file():
        raise WorkflowError(f"label file {LABELS} does not exist: fix `labels` in {AOI_FILE} or set it to null to stop "
                            "after the composites")


# a run builds the files of its own AOI only: another AOI's files (a model trained there) are inputs
wildcard_constraints:
    aoi=AOI_SETTINGS["name"],
    tile="[0-9]+_[0-9]+_[0-9]+",
    sensor="sar|optical",
    month="[0-9]{4}-[0-9]{2}",
    year="[0-9]{4}",
    later="[0-9]{4}",


# ------------------------------------------------------------------------------------------------ paths
def results(path):
    """A rule's file pattern under the AOI's results folder; `{aoi}` and the path's own fields stay wildcards."""
    return f"{RESULTS}/{{aoi}}/{path}"


def logs(name):
    return results(f"logs/{name}.log")


def benchmarks(name):
    return results(f"benchmarks/{name}.tsv")


def aoi_path(*parts):
    """A concrete file of this run's AOI."""
    return str(Path(RESULTS, AOI_SETTINGS["name"], *parts))


def composite_paths(tile, sensor, months=None):
    """A tile's monthly composite stores of one sensor, in time order: of the period, or of ``months``."""
    return [aoi_path("composites", tile, sensor, f"{month}.zarr") for month in (months or MONTHS)]


def all_composites(sensor):
    """Every tile's monthly stores of a sensor, tile after tile (permafusion.series.stack.per_tile splits them)."""
    return [path for tile in TILES for path in composite_paths(tile, sensor)]


def per_tile_files(pattern):
    """One file per tile from a pattern with a `{tile}` field, in the order of TILES."""
    return [aoi_path(pattern.format(tile=tile)) for tile in TILES]


def map_file(name, epsg=None):
    """A map product: map/<name> for an AOI in one UTM zone, map/<EPSG>/<name> per zone otherwise."""
    return aoi_path("map", str(epsg), name) if ZONED_MAPS else aoi_path("map", name)


def map_files(*names):
    """The map products of every zone of the run."""
    if not ZONED_MAPS:
        return [map_file(name) for name in names]
    return [map_file(name, epsg) for epsg in ZONE_GRIDS for name in names]


def check_plan(*, jobs_per_tile, jobs_per_zone, jobs_per_run):
    """State the run's tiles and jobs before Snakemake plans them, and refuse more than `max_jobs`.

    Each task counts its own jobs: per tile, per zone map, per run.
    """
    size = RunSize.of_tiles(list(TILES.values()), jobs_per_tile=jobs_per_tile, jobs_per_zone=jobs_per_zone,
                            jobs_per_run=jobs_per_run)
    print(size.summary(AOI.name), file=sys.stderr)
    try:
        check_run_size(size, max_jobs=config["max_jobs"], aoi=AOI.name, source=str(AOI_FILE))
    except PlanTooLarge as error:
        raise WorkflowError(str(error)) from None
    return size


def terrain_paths():
    return per_tile_files("terrain/{tile}.tif") if "dem" in AOI.catalog.collections else []


# ------------------------------------------------------------------------------------- job resources
def gpus(count=1):
    """GPUs of a model job: `count` when `device` is cuda, else none (the SLURM plugin's `gpu` resource)."""
    return gpus_for(config["device"], count)


def gpu_model():
    return gpu_model_for(config["device"], CLUSTER["gpu_model"])


# --------------------------------------------------------------------------------------- input functions
def get_catalog_files(wildcards):
    """Local catalogs are generated files the search serves; remote APIs need no input file."""
    if AOI.catalog.kind != "local":
        return []
    if CATALOG_PATH:
        return [CATALOG_PATH]
    return [aoi_path("source", "stac", kind, f"{c}.json")
            for kind in ("collections", "items") for c in AOI.catalog.collections.values()]


def search_request(sensor, month=None):
    """The search of one sensor, over one month of the period (None: the whole period, or any date for the DEM)."""
    params = {
        "catalog_kind": AOI.catalog.kind,
        "url": AOI.catalog.url,
        "catalog_path": CATALOG_PATH,
        "collection": AOI.catalog.collections[sensor],
        "bbox": list(AOI.bbox),
        # the DEM is one static product, dated by its acquisition campaign, not by the AOI period
        "datetime": None if sensor == "dem" else AOI.datetime_range(month),
        "server_side_query": AOI.catalog.server_side_query,
        **config["search"],
    }
    if sensor == "dem":  # terrain reads the `data` asset; an item without it is refused by name
        params["required_assets"] = ["data"]
    if sensor == "optical":
        params["max_cloud"] = config["optical"]["max_cloud"]
    if sensor == "sar" and config["sar"]["orbit_state"] in ("ascending", "descending"):
        params["orbit_state"] = config["sar"]["orbit_state"]
    return params


def get_month_search(wildcards):
    return search_request(wildcards.sensor, wildcards.month)


def get_dem_search(wildcards):
    return search_request("dem")


def get_period_search(wildcards):
    return search_request(wildcards.sensor)


def get_month_item_lists(wildcards):
    return [aoi_path("items", wildcards.sensor, f"{month}.json") for month in MONTHS]


def get_tile_composites(sensor):
    def inputs(wildcards):
        return composite_paths(wildcards.tile, sensor)

    return inputs


def get_year_composites(sensor):
    """A tile's composites of one of the mapped `years` (January to December)."""

    def inputs(wildcards):
        return composite_paths(wildcards.tile, sensor, AOI.year_months(int(wildcards.year)))

    return inputs


def get_year_tile_maps(wildcards):
    """The tiles' class maps of one mapped year, in the order of TILES."""
    return [aoi_path("predict", wildcards.year, f"{tile}.tif") for tile in TILES]


def year_pairs():
    """Consecutive mapped years, (earlier, later), for the change maps."""
    return list(zip(YEARS[:-1], YEARS[1:]))


def get_tile_grid(wildcards):
    return TILES[wildcards.tile].grid.to_mapping()


def get_tile_position(wildcards):
    """'3/16': the tile's place among the AOI's tiles, for progress in its job's log."""
    return f"{list(TILES).index(wildcards.tile) + 1}/{len(TILES)}"


def get_map_grid(wildcards=None):
    """The grid of the AOI's one map (an AOI in one UTM zone)."""
    try:
        return map_grid(list(TILES.values())).to_mapping()
    except ValueError as error:
        raise WorkflowError(f"AOI {AOI_FILE}: {error}") from None


def get_zone_map_grid(wildcards):
    return ZONE_GRIDS[int(wildcards.epsg)].to_mapping()


def get_zone_tiles(wildcards):
    return ZONE_TILES[int(wildcards.epsg)]


def get_zone_predictions(wildcards):
    return [aoi_path("predict", f"{tile}.tif") for tile in ZONE_TILES[int(wildcards.epsg)]]


def get_zone_optical(wildcards):
    return [path for tile in ZONE_TILES[int(wildcards.epsg)] for path in composite_paths(tile, "optical")]


def get_zone_vectors(wildcards):
    return [aoi_path("vectors", f"{tile}.parquet") for tile in ZONE_TILES[int(wildcards.epsg)]]


def get_labels_file(wildcards):
    return LABELS


def get_class_scheme(wildcards):
    """The classes of the AOI's task (CLASS_SCHEME, set by the task's rules) for label and map rules."""
    return CLASS_SCHEME.to_mapping()
