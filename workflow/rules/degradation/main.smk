# The degradation task (seed 000): patches, PermaFusionNet, maps, and the paper's tables.
import sys

from permafusion.geo.tiles import context_tiles, zone_extent
from permafusion.series.stack import model_months
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.experiments import EXPERIMENT_METHODS, RANDOM_FOREST

_STEPS, _STEP_MONTHS = config["patches"]["time_steps"], config["patches"]["step_months"]
_SPAN = 1 + (_STEPS - 1) * _STEP_MONTHS  # months from the model's first time step to its last


def model_steps(months):
    """The months the model takes out of a run of months (patches.time_steps, patches.step_months)."""
    return model_months(months, steps=_STEPS, every=_STEP_MONTHS)


if len(MONTHS) < _SPAN:
    raise WorkflowError(f"the period {AOI.start}..{AOI.end} in {AOI_FILE} has {len(MONTHS)} months; the model's "
                        f"{_STEPS} time steps {_STEP_MONTHS} month(s) apart (patches.time_steps, patches.step_months) "
                        f"span {_SPAN}: widen `start`/`end`, or lower time_steps or step_months")
if YEARS and _SPAN > 12:
    raise WorkflowError(f"`years` in {AOI_FILE} maps each calendar year from its 12 monthly composites, but the model's "
                        f"time steps span {_SPAN} months (patches.time_steps, patches.step_months): make them span at "
                        "most 12, or leave `years` out and map the period")
_PATCH = config["patches"]["size"]
_MAP_SHAPE = max((grid.shape for grid in ZONE_GRIDS.values()), key=min)  # the zone with most room for a patch
if min(_MAP_SHAPE) < _PATCH:
    raise WorkflowError(f"the AOI of {AOI_FILE} is {_MAP_SHAPE[1]} x {_MAP_SHAPE[0]} pixels, smaller than one "
                        f"{_PATCH} px patch (patches.size): widen `bbox` (at least {_PATCH * config['resolution']:g} m "
                        "a side) or lower patches.size")
CLASS_SCHEME = DEGRADATION
# a model trained elsewhere maps the AOI without training (and without labels)
MODEL = (config["model"] or AOI_SETTINGS.get("model") or "").replace("{results}", RESULTS) or None
if MODEL and not Path(MODEL).is_file():
    raise WorkflowError(f"model checkpoint {MODEL} (`model` in {AOI_FILE} or --config model=...) does not exist: "
                        "train it first (for the demo's: snakemake --cores all) or point `model` at a checkpoint")
TRAINING = {"aoi": AOI.name, "start": str(AOI.start), "end": str(AOI.end)}
# named parts of the AOI, for leave-one-region-out (loro.smk)
REGIONS = dict(AOI_SETTINGS.get("regions") or {})


def get_train_settings():
    """The training settings, on the run's device."""
    return {**config["train"], "device": config["device"]}


def get_checkpoint(wildcards):
    """The model that maps the AOI: `model` when given, else the one trained on the AOI's labels."""
    return MODEL or results("model/checkpoint.pt").format(aoi=wildcards.aoi)


def get_calibration(wildcards):
    """The temperature the map's probabilities use: the AOI's own model's calibration, or the
    `calibration.json` beside a `model` trained elsewhere (none: uncalibrated, T = 1, with a warning)."""
    if not MODEL:
        return results("model/calibration.json").format(aoi=wildcards.aoi)
    beside = Path(MODEL).with_name("calibration.json")
    return [str(beside)] if beside.is_file() else []


def _context_tiles(tile):
    return context_tiles(TILES[tile], list(TILES.values()), margin_px=config["predict"]["window"])


def get_tile_context(wildcards):
    """The zone's extent and the neighbouring tiles whose pixels give a tile's windows context."""
    tile = TILES[wildcards.tile]
    return {
        "extent": zone_extent(tile, list(TILES.values())).to_mapping(),
        "tiles": {t.name: t.grid.to_mapping() for t in _context_tiles(wildcards.tile)},
    }


def get_context_composites(sensor):
    """The neighbouring tiles' composites of the period, or of the job's mapped `year`."""

    def inputs(wildcards):
        months = AOI.year_months(int(wildcards.year)) if "year" in wildcards.keys() else None
        return [path for t in _context_tiles(wildcards.tile) for path in composite_paths(t.name, sensor, months)]

    return inputs


def get_tile_products(wildcards):
    """Every tile's raster of one per-pixel product."""
    return per_tile_files(f"predict/{{tile}}.{wildcards.product}.tif")


def get_zone_products(wildcards):
    """The tiles' rasters of one per-pixel product in one UTM zone (an AOI of several zones)."""
    return [aoi_path("predict", f"{tile}.{wildcards.product}.tif") for tile in ZONE_TILES[int(wildcards.epsg)]]


# the map products, of every zone's map (map/<EPSG>/...) for an AOI of several UTM zones
MAP_NAMES = ("degradation.tif", "area_by_class.csv", "quicklook.png", "degradation.gpkg", "degradation.parquet",
             "probabilities.tif", "uncertainty.tif", "modality_weight.tif", "modality_weight_by_class.png")
if YEARS and ZONED_MAPS:
    raise WorkflowError(f"`years` in {AOI_FILE}: yearly maps and change maps are made for an AOI in one UTM zone, "
                        f"and this AOI spans {len(ZONE_GRIDS)}: split it into one AOI per zone")
# jobs of a fresh run, stated before planning and held to `max_jobs` (common.smk, check_plan)
_MAPS = bool(MODEL or LABELS)
_TRAINS = bool(LABELS and not MODEL)
_HAS_DEM = "dem" in AOI.catalog.collections
if _TRAINS and config["zones"]:  # each zone's run would train on its own patches and replace the model
    raise WorkflowError(f"`zones` {[int(z) for z in config['zones']]} with `labels` in {AOI_FILE}: a run of some "
                        "zones trains on their patches only. Train on the whole AOI (or a smaller labelled AOI), "
                        "then map the zones with that model: --config zones=[...] "
                        "model=results/<aoi>/model/checkpoint.pt")
_IMAGED_MONTHS = len(AOI.all_months())  # the period's and the mapped years' months
RUN_SIZE = check_plan(
    # composites, terrain, labels, prediction and its polygons, and each mapped year's prediction
    jobs_per_tile=2 * _IMAGED_MONTHS + _HAS_DEM + _TRAINS + (2 + len(YEARS)) * _MAPS,
    # mosaics of the classes and the three per-pixel products, polygons, modality plot and quicklook
    jobs_per_zone=7 * _MAPS,
    # searches and checks, the DEM search, the demo scene, patches + training + evaluation + its two plots +
    # calibration, each year's map and each pair's change map, `all`
    jobs_per_run=2 * _IMAGED_MONTHS + 2 + _HAS_DEM + IS_DEMO + 6 * _TRAINS
    + (len(YEARS) + len(year_pairs())) * _MAPS + 1,
)


def final_outputs():
    """The map and its products (with the evaluation and calibration when the AOI trains its own model);
    without labels or `model`, the composites of every tile. An AOI of several UTM zones has one map per zone."""
    maps = map_files(*MAP_NAMES)
    for year in YEARS:
        maps += [aoi_path("map", str(year), name) for name in ("degradation.tif", "area_by_class.csv")]
    for year, later in year_pairs():
        maps += [aoi_path("map", "change", f"{year}_{later}{end}") for end in (".tif", "_transitions.csv")]
    if MODEL:
        return terrain_paths() + maps
    if LABELS:
        return terrain_paths() + maps + [
            aoi_path("eval", name) for name in ("metrics.json", "confusion_matrix.png", "calibration.json", "reliability.png")
        ] + [aoi_path("model", "training_curves.png")]
    print(f"AOI {AOI.name} has no labels: the run stops after the composites. Set `labels` in {AOI_FILE} "
          "to train and map.", file=sys.stderr)
    return terrain_paths() + all_composites("sar") + all_composites("optical")


# Experiments of the paper (Tables 2 and 3, experiments.smk)
EXPERIMENTS = config["experiments"]
TABLE2_METHODS = list(EXPERIMENTS["methods"])
TABLE3_ABLATIONS = list(EXPERIMENTS["ablations"])
EXPERIMENT_THREADS = EXPERIMENTS["threads"]
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
    return {"forest": dict(EXPERIMENTS["random_forest"]), "seed": config["train"]["seed"]}


def get_experiment_model(wildcards):
    """The trained model of a method: a joblib file for the forest, a checkpoint for a network."""
    if wildcards.method == RANDOM_FOREST:
        return results(f"experiments/{RANDOM_FOREST}/model.joblib").format(aoi=wildcards.aoi)
    return results("experiments/{method}/checkpoint.pt").format(aoi=wildcards.aoi, method=wildcards.method)


def get_table_metrics(wildcards):
    """Scores of every table method; the full model's come from the main `evaluate` rule."""
    return [
        aoi_path("eval", "metrics.json") if m == "permafusionnet" else aoi_path("experiments", m, "metrics.json")
        for m in TABLE_METHODS
    ]


# training seeds of the tables: the main model's, then `experiments.seeds`
SEEDS = list(dict.fromkeys([int(config["train"]["seed"]), *(int(v) for v in EXPERIMENTS["seeds"])]))


def get_seed_train_settings(wildcards):
    """The main model's training settings with the network and the seed changed."""
    return {**get_train_settings(), "model": wildcards.method, "seed": int(wildcards.seed)}


def get_seed_random_forest_settings(wildcards):
    return {"forest": dict(EXPERIMENTS["random_forest"]), "seed": int(wildcards.seed)}


def get_seed_model(wildcards):
    """A method's model at a seed: the main run's files at the main seed, the seed's own otherwise."""
    main = int(wildcards.seed) == SEEDS[0]
    if wildcards.method == "permafusionnet" and main:
        return results("model/checkpoint.pt").format(aoi=wildcards.aoi)
    if main:
        return get_experiment_model(wildcards)
    name = "model.joblib" if wildcards.method == RANDOM_FOREST else "checkpoint.pt"
    return aoi_path("experiments", wildcards.method, f"seed{wildcards.seed}", name)


def _seed_metrics(method, seed):
    if seed == SEEDS[0] and method != "permafusionnet":  # scored by evaluate_experiment already
        return aoi_path("experiments", method, "metrics.json")
    return aoi_path("experiments", method, f"seed{seed}", "metrics.json")


def get_seed_table_metrics(wildcards):
    """Every table method's scores at every seed (method-major, seeds in SEEDS order)."""
    return [_seed_metrics(m, seed) for m in TABLE_METHODS for seed in SEEDS]


def get_tables(wildcards):
    """Tables 1-3 of the configured AOI; only AOIs with ground truth have them."""
    if not LABELS:
        raise WorkflowError(f"AOI {AOI.name} has no labels, so there is nothing to train or score for the "
                            f"tables: set `labels` in {AOI_FILE} to a GeoPackage of polygons with a class_code "
                            "column (1..4)")
    return [aoi_path("tables", f"table{n}.{ext}") for n in (1, 2, 3) for ext in ("csv", "md")] + [
        aoi_path("tables", f"table{n}_seeds.{ext}") for n in (2, 3) for ext in ("csv", "md")
    ]


# Leave-one-region-out (loro.smk)
def get_loro_metrics(wildcards):
    if len(REGIONS) < 2:
        raise WorkflowError(
            f"leave-one-region-out needs at least two regions; {AOI_FILE} names {len(REGIONS)}: add "
            "`regions:` (name: [west, south, east, north] in degrees) to it"
        )
    return expand(results("loro/{region}/metrics.json"), aoi=wildcards.aoi, region=list(REGIONS))


include: "patches.smk"
include: "model.smk"
include: "map.smk"
include: "experiments.smk"
include: "loro.smk"
include: "years.smk"
