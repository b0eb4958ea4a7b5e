"""One source for each default: the workflow schema's defaults are those of the package's settings.

The schema (workflow/schemas/config.schema.yaml) is where a user reads every setting and its default, and
what fills the run's config; the dataclasses and function signatures are what library users call. This
test keeps the two from drifting apart.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
from snakemake.utils import validate

from permafusion.composite import OpticalSettings, SarSettings
from permafusion.composite.job import composite_month
from permafusion.geo.search import search_items
from permafusion.tasks.degradation.patches import PatchSettings
from permafusion.tasks.degradation.predict import predict_probabilities, predict_tile_products
from permafusion.tasks.degradation.train import TrainSettings

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    config: dict[str, Any] = {"aoi": "demo"}
    validate(config, str(SCHEMA))  # fills every default
    return config


def _field_defaults(cls: type) -> dict[str, Any]:
    out = {}
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            out[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            out[field.name] = field.default_factory()
    return out


def _signature_defaults(function: Any) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _normalise(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def _assert_same(
    section: dict[str, Any], package: dict[str, Any], *, skip: frozenset[str] = frozenset()
) -> None:
    shared = (set(section) & set(package)) - skip
    assert shared, "nothing to compare: the schema and the package share no setting"
    differing = {
        k: (section[k], package[k]) for k in shared if _normalise(section[k]) != _normalise(package[k])
    }
    assert not differing, f"schema default != package default (schema, package): {differing}"


def test_training_defaults_agree(defaults: dict[str, Any]) -> None:
    # the schema's preset (paper) gives the dataclass's default widths
    paper = TrainSettings.from_mapping({"preset": "paper"})
    assert TrainSettings.from_mapping(defaults["train"]) == paper
    _assert_same(defaults["train"], _field_defaults(TrainSettings), skip=frozenset({"preset"}))
    assert defaults["device"] == TrainSettings().device


def test_patch_composite_search_and_predict_defaults_agree(defaults: dict[str, Any]) -> None:
    _assert_same(defaults["patches"], _field_defaults(PatchSettings))
    _assert_same(defaults["sar"], _field_defaults(SarSettings))
    _assert_same(defaults["optical"], _field_defaults(OpticalSettings))
    _assert_same(defaults["search"], _signature_defaults(search_items))
    _assert_same(defaults["predict"], _signature_defaults(predict_probabilities))
    _assert_same(defaults["predict"], _signature_defaults(predict_tile_products))
    _assert_same(defaults["composite"], _signature_defaults(composite_month))


def test_soil_temperature_defaults_agree(defaults: dict[str, Any]) -> None:
    from permafusion.tasks.soiltemp.scenarios import DEFAULT_DELTAS, future_series
    from permafusion.tasks.soiltemp.settings import SoilTrainSettings

    soil = defaults["soil_temperature"]
    _assert_same(soil["train"], _field_defaults(SoilTrainSettings))
    assert soil["scenarios"]["deltas"] == DEFAULT_DELTAS
    _assert_same(soil["scenarios"], _signature_defaults(future_series))
