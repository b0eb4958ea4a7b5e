"""The thaw-slump settings: the schema's defaults are the package's (one source for each default)."""

from typing import Any

from permafusion.tasks.rts.scenes import SceneRule
from permafusion.tasks.rts.series import Uncertainty
from permafusion.tasks.rts.train import RtsTrainSettings
from tests.test_settings_defaults import SCHEMA, _assert_same, _field_defaults


def _defaults() -> dict[str, Any]:
    from snakemake.utils import validate

    config: dict[str, Any] = {"aoi": "demo"}
    validate(config, str(SCHEMA))
    return config["rts"]


def test_rts_defaults_agree_with_the_package():
    rts = _defaults()
    _assert_same(rts["train"], _field_defaults(RtsTrainSettings))
    assert RtsTrainSettings.from_mapping(rts["train"]) == RtsTrainSettings()
    _assert_same(rts["scene"], _field_defaults(SceneRule))
    assert rts["series"] == {"uncertainty": Uncertainty().kind, "flat_fraction": Uncertainty().flat_fraction}
    assert rts["tile_size"] == 64 and rts["train"]["batch_size"] == 32 and rts["train"]["epochs"] == 100
