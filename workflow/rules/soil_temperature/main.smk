# The soil_temperature task (seed 002): stations -> drivers (ERA5-Land or the user's) -> series -> sequence
# models and baselines per split -> comparison tables and plots -> scenario projections to 2100.
import datetime as dt
import sys

from permafusion.tasks.soiltemp.dataset import time_split_dates
from permafusion.tasks.soiltemp.tables import TableError, read_stations

SOIL = config["soil_temperature"]
SOIL_START = str(AOI_SETTINGS["start"])
SOIL_END = str(AOI_SETTINGS["end"])
SOIL_MODELS = list(SOIL["models"])
SOIL_SPLITS = list(SOIL["splits"])
try:
    dt.date.fromisoformat(SOIL_START), dt.date.fromisoformat(SOIL_END)
except ValueError:
    raise WorkflowError(f"`start`/`end` in {AOI_FILE} must be dates YYYY-MM-DD, got {SOIL_START!r}, {SOIL_END!r}")
if "time" in SOIL_SPLITS:
    try:
        time_split_dates(start=SOIL_START, end=SOIL_END, test_years=SOIL["split"]["test_years"],
                         val_years=SOIL["split"]["val_years"])
    except ValueError as error:
        raise WorkflowError(f"{AOI_FILE}: {error}") from None
if SOIL["scenarios"]["model"] not in SOIL_MODELS or SOIL["scenarios"]["split"] not in SOIL_SPLITS:
    raise WorkflowError(f"soil_temperature.scenarios uses model {SOIL['scenarios']['model']!r} of split "
                        f"{SOIL['scenarios']['split']!r}: both must be among `models` and `splits`")


def _aoi_file(key):
    value = AOI_SETTINGS.get(key)
    return value.replace("{results}", RESULTS) if value else None


if IS_DEMO:
    SOIL_STATIONS = aoi_path("source", "stations.csv")
    SOIL_OBSERVATIONS = aoi_path("source", "observations.csv")
    SOIL_DRIVERS = aoi_path("source", "drivers.csv")
    SOIL_STATION_IDS = []
else:
    SOIL_STATIONS = _aoi_file("stations")
    SOIL_OBSERVATIONS = _aoi_file("observations")
    SOIL_DRIVERS = _aoi_file("drivers")
    try:
        SOIL_STATION_TABLE = read_stations(SOIL_STATIONS)
    except TableError as error:
        raise WorkflowError(f"`stations` in {AOI_FILE}: {error}") from None
    SOIL_STATION_IDS = list(SOIL_STATION_TABLE.index)
    for _key, _path in (("observations", SOIL_OBSERVATIONS), ("drivers", SOIL_DRIVERS)):
        if _path and not Path(_path).is_file():
            raise WorkflowError(f"{_key} file {_path} does not exist: fix `{_key}` in {AOI_FILE} or set it to null")
    if not SOIL_DRIVERS:  # ERA5-Land, fetched per station
        SOIL_DRIVERS = aoi_path("drivers", "era5_land.csv")


wildcard_constraints:
    split="time|station",
    model="|".join(["gru", "bilstm", "tcn", "transformer", "conv1d_lstm"]),
    station="[A-Za-z0-9_.-]+",


def get_station_coordinates(wildcards):
    row = SOIL_STATION_TABLE.loc[wildcards.station]
    return {"lat": float(row["lat"]), "lon": float(row["lon"])}


def get_era5_files(wildcards):
    return [aoi_path("era5", f"{station}.nc") for station in SOIL_STATION_IDS]


def get_soil_train_settings(wildcards):
    return {**SOIL["train"], "model": wildcards.model, "device": config["device"]}


def get_split_checkpoints(wildcards):
    return {m: aoi_path("models", wildcards.split, m, "checkpoint.pt") for m in SOIL_MODELS}


def get_split_comparisons(wildcards):
    return {s: aoi_path("tables", f"comparison_{s}.csv") for s in SOIL_SPLITS}


def get_scenario_checkpoint(wildcards):
    return aoi_path("models", SOIL["scenarios"]["split"], SOIL["scenarios"]["model"], "checkpoint.pt")


def final_outputs():
    """Comparison tables, plots and projections when there are observations; else the drivers."""
    if not SOIL_OBSERVATIONS:
        print(f"AOI {AOI_SETTINGS['name']} has no observations: the run stops after the drivers. Set "
              f"`observations` in {AOI_FILE} to train and project.", file=sys.stderr)
        return [SOIL_DRIVERS]
    return [
        aoi_path("tables", "comparison.csv"),
        aoi_path("tables", "comparison.md"),
        *[aoi_path("plots", f"series_{split}.png") for split in SOIL_SPLITS],
        aoi_path("scenarios", "annual.csv"),
        aoi_path("scenarios", "alt.csv"),
        aoi_path("plots", "scenarios.png"),
    ]


include: "data.smk"
include: "model.smk"
include: "scenarios.smk"
