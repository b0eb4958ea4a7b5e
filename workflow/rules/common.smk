# Settings are read and validated here, once; rules get narrow slices of them through params.
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from permafusion.geo.aoi import AOIError, aoi_from_mapping
from permafusion.tasks.degradation.experiments import EXPERIMENT_METHODS, RANDOM_FOREST
from permafusion.geo.tiles import map_grid, processing_tiles

OVERRIDABLE_SECTIONS = ("search", "sar", "optical", "patches", "train", "predict")


def load_aoi_settings(config):
    aoi_dir = Path(config["aoi_dir"])
    path = aoi_dir / f"{config['aoi']}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in aoi_dir.glob("*.yaml"))
        raise WorkflowError(f"AOI '{config['aoi']}' not found: no file {path}. Known AOIs: {', '.join(known)}. "
                            f"Set --config aoi=<name>, or add {path}.")
    try:
        settings = yaml.safe_load(path.read_text())
        validate(settings, schema="../schemas/aoi.schema.yaml")
    except Exception as error:
        raise WorkflowError(f"AOI file {path} is invalid: {error}") from None
    if settings["name"] != config["aoi"]:
        raise WorkflowError(f"AOI file {path} has name '{settings['name']}': make it '{config['aoi']}'")
    return settings, path


validate(config, schema="../schemas/config.schema.yaml")
AOI_SETTINGS, AOI_FILE = load_aoi_settings(config)
for section in OVERRIDABLE_SECTIONS:
    config[section] = {**config.get(section, {}), **AOI_SETTINGS.get(section, {})}
validate(config, schema="../schemas/config.schema.yaml")
try:
    AOI = aoi_from_mapping(AOI_SETTINGS, extent=config["extent"], source=str(AOI_FILE))
except AOIError as error:
    raise WorkflowError(str(error)) from None

RESULTS = config["results"]
IS_DEMO = "demo" in AOI_SETTINGS
MONTHS = AOI.months()
if len(MONTHS) < config["patches"]["time_steps"]:
    raise WorkflowError(f"the period {AOI.start}..{AOI.end} in {AOI_FILE} has {len(MONTHS)} months; patches need "
                        f"{config['patches']['time_steps']} (patches.time_steps): widen `start`/`end`")
TILES = {tile.name: tile for tile in processing_tiles(AOI.bbox, tile_size_px=config["tile_size_px"],
                                                      resolution=config["resolution"])}
LABELS = (AOI_SETTINGS.get("labels") or "").format(results=RESULTS) or None
# named parts of the AOI, for leave-one-region-out (loro.smk)
REGIONS = dict(AOI_SETTINGS.get("regions") or {})
if LABELS and not IS_DEMO and not Path(LABELS).is_file():
    raise WorkflowError(f"label file {LABELS} does not exist: fix `labels` in {AOI_FILE} (a GeoPackage with a "
                        "class_code column, 1..4) or set it to null to stop after the composites")


wildcard_constraints:
    aoi="[A-Za-z0-9_-]+",
    tile="[0-9]+_[0-9]+_[0-9]+",
    sensor="sar|optical",
    month="[0-9]{4}-[0-9]{2}",


def aoi_path(*parts):
    return str(Path(RESULTS, AOI.name, *parts))


def final_outputs():
    """The map and its evaluation when the AOI has labels; otherwise the composites of every tile."""
    terrain = [aoi_path("terrain", f"{tile}.tif") for tile in TILES] if "dem" in AOI.catalog.collections else []
    if LABELS:
        return terrain + [
            aoi_path("map", "degradation.tif"),
            aoi_path("map", "area_by_class.csv"),
            aoi_path("map", "quicklook.png"),
            aoi_path("eval", "metrics.json"),
        ]
    print(f"AOI {AOI.name} has no labels: the run stops after the composites. Set `labels` in {AOI_FILE} "
          "to train and map.", file=sys.stderr)
    return terrain + [path for tile in TILES for sensor in ("sar", "optical") for path in composite_paths(tile, sensor)]


def get_catalog_files(wildcards):
    """Local catalogs are generated files the search serves; remote APIs need no input file."""
    if AOI.catalog.kind != "local":
        return []
    return [aoi_path("source", "stac", kind, f"{c}.json")
            for kind in ("collections", "items") for c in AOI.catalog.collections.values()]


def search_request(sensor, month=None):
    """The search of one sensor, over one month of the period (None: the whole period, or any date for the DEM)."""
    params = {
        "catalog_kind": AOI.catalog.kind,
        "url": AOI.catalog.url,
        "collection": AOI.catalog.collections[sensor],
        "bbox": list(AOI.bbox),
        # the DEM is one static product, dated by its acquisition campaign, not by the AOI period
        "datetime": None if sensor == "dem" else AOI.datetime_range(month),
        "server_side_query": AOI.catalog.server_side_query,
        **config["search"],
    }
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


def composite_paths(tile, sensor):
    """A tile's monthly composite stores of one sensor, in time order."""
    return [aoi_path("composites", tile, sensor, f"{month}.zarr") for month in MONTHS]


def get_tile_composites(sensor):
    def inputs(wildcards):
        return composite_paths(wildcards.tile, sensor)

    return inputs


def get_tile_grid(wildcards):
    return TILES[wildcards.tile].grid.to_mapping()


def get_map_grid():
    return map_grid(list(TILES.values()), AOI.bbox).to_mapping()


def get_labels_file(wildcards):
    return LABELS


def get_tile_inputs(kind):
    """Files of every tile for AOI-wide rules, tile by tile (and month by month for composites)."""
    if kind in ("sar", "optical"):
        return [path for tile in TILES for path in composite_paths(tile, kind)]
    patterns = {"labels": ("labels", "{tile}.tif"), "classes": ("predict", "{tile}.tif")}
    return [aoi_path(*patterns[kind]).format(tile=tile) for tile in TILES]


def get_train_settings():
    return dict(config["train"])


# Experiments of the paper (Tables 2 and 3)
EXPERIMENTS = config["experiments"]
TABLE2_METHODS = list(EXPERIMENTS["methods"])
TABLE3_ABLATIONS = list(EXPERIMENTS["ablations"])
# every method whose metrics the tables need; the full model always (Table 3 compares with it)
TABLE_METHODS = list(dict.fromkeys([*TABLE2_METHODS, "permafusionnet", *TABLE3_ABLATIONS]))
for _method in TABLE_METHODS:
    if _method not in EXPERIMENT_METHODS:
        raise WorkflowError(f"experiments: unknown method '{_method}' (in `experiments.methods` or "
                            f"`experiments.ablations`); known: {', '.join(EXPERIMENT_METHODS)}")
# networks trained by train_experiment; the main model comes from `train`, the forest from train_random_forest
NETWORK_EXPERIMENTS = [m for m in EXPERIMENT_METHODS if m not in (RANDOM_FOREST, "permafusionnet")]
# methods scored by evaluate_experiment; the main model is scored once, by `evaluate`
SCORED_EXPERIMENTS = [m for m in EXPERIMENT_METHODS if m != "permafusionnet"]


def get_experiment_train_settings(wildcards):
    """The main model's training settings with only the network changed."""
    return {**get_train_settings(), "model": wildcards.method}


def get_random_forest_settings(wildcards):
    return {"forest": dict(EXPERIMENTS["random_forest"]), "seed": get_train_settings().get("seed", 0)}


def get_experiment_model(wildcards):
    """The trained model of a method: a joblib file for the forest, a checkpoint for a network."""
    if wildcards.method == RANDOM_FOREST:
        return f"{RESULTS}/{wildcards.aoi}/experiments/{RANDOM_FOREST}/model.joblib"
    return f"{RESULTS}/{wildcards.aoi}/experiments/{wildcards.method}/checkpoint.pt"


def get_table_metrics(wildcards):
    """Scores of every table method; the full model's come from the main `evaluate` rule."""
    return [
        aoi_path("eval", "metrics.json") if m == "permafusionnet" else aoi_path("experiments", m, "metrics.json")
        for m in TABLE_METHODS
    ]


def get_tables(wildcards):
    """Tables 1-3 of the configured AOI; only AOIs with ground truth have them."""
    if not LABELS:
        raise WorkflowError(f"AOI {AOI.name} has no labels, so there is nothing to train or score for the "
                            f"tables: set `labels` in {AOI_FILE} to a GeoPackage of polygons with a class_code "
                            "column (1..4)")
    return [aoi_path("tables", f"table{n}.{ext}") for n in (1, 2, 3) for ext in ("csv", "md")]


# Leave-one-region-out (loro.smk)
def get_loro_metrics(wildcards):
    if len(REGIONS) < 2:
        raise WorkflowError(
            f"leave-one-region-out needs at least two regions; {AOI_FILE} names {len(REGIONS)}: add "
            "`regions:` (name: [west, south, east, north] in degrees) to it"
        )
    return expand(f"{RESULTS}/{{aoi}}/loro/{{region}}/metrics.json", aoi=wildcards.aoi, region=list(REGIONS))
