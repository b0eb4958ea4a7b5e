# The degradation task (seed 000): patches, PermaFusionNet, maps, and the paper's tables.
import sys

from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.experiments import EXPERIMENT_METHODS, RANDOM_FOREST

if len(MONTHS) < config["patches"]["time_steps"]:
    raise WorkflowError(f"the period {AOI.start}..{AOI.end} in {AOI_FILE} has {len(MONTHS)} months; patches need "
                        f"{config['patches']['time_steps']} (patches.time_steps): widen `start`/`end`")
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


MAP_NAMES = ("degradation.tif", "area_by_class.csv", "quicklook.png")
# jobs of a fresh run, stated before planning and held to `max_jobs` (common.smk, check_plan)
_MAPS = bool(MODEL or LABELS)
_TRAINS = bool(LABELS and not MODEL)
_HAS_DEM = "dem" in AOI.catalog.collections
if _TRAINS and config["zones"]:  # each zone's run would train on its own patches and replace the model
    raise WorkflowError(f"`zones` {[int(z) for z in config['zones']]} with `labels` in {AOI_FILE}: a run of some "
                        "zones trains on their patches only. Train on the whole AOI (or a smaller labelled AOI), "
                        "then map the zones with that model: --config zones=[...] "
                        "model=results/<aoi>/model/checkpoint.pt")
RUN_SIZE = check_plan(
    jobs_per_tile=2 * len(MONTHS) + _HAS_DEM + _TRAINS + _MAPS,  # composites, terrain, labels, prediction
    jobs_per_zone=2 * _MAPS,  # mosaic and quicklook of each zone's map
    # searches and checks, the DEM search, the demo scene, patches + training + evaluation, `all`
    jobs_per_run=2 * len(MONTHS) + 2 + _HAS_DEM + IS_DEMO + 3 * _TRAINS + 1,
)


def final_outputs():
    """The map (and its evaluation when the AOI trains its own model); without labels or `model`, the
    composites of every tile. An AOI of several UTM zones has one map per zone."""
    if MODEL:
        return terrain_paths() + map_files(*MAP_NAMES)
    if LABELS:
        return terrain_paths() + map_files(*MAP_NAMES) + [aoi_path("eval", "metrics.json")]
    print(f"AOI {AOI.name} has no labels: the run stops after the composites. Set `labels` in {AOI_FILE} "
          "to train and map.", file=sys.stderr)
    return terrain_paths() + all_composites("sar") + all_composites("optical")


# Experiments of the paper (Tables 2 and 3, experiments.smk)
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
    return expand(results("loro/{region}/metrics.json"), aoi=wildcards.aoi, region=list(REGIONS))


include: "patches.smk"
include: "model.smk"
include: "map.smk"
include: "experiments.smk"
include: "loro.smk"
