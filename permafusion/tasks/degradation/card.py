"""The model card a degradation checkpoint carries, and the check that an AOI can be mapped with it.

A checkpoint trained on one AOI maps any other AOI of the same task, labelled or not, if its inputs are what
the model was trained on: the same task and classes, the same bands in the same order, and the same number
of monthly time steps. The card records those, with where and when the model was trained and the package
version, so a checkpoint that does not fit is refused before any pixel is predicted, with what to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import permafusion
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.patch_store import OPTICAL_BANDS, SAR_BANDS

TASK = "degradation"

#: Version of what a checkpoint's network reads and how it is built. 2: PermaFusionNet takes a validity
#: mask per branch, a layer-normalised ConvLSTM and an attention readout (checkpoints of format 1, or
#: without one, were built without them and are refused rather than loaded into a different network).
MODEL_FORMAT = 2


def model_card(
    *, time_steps: int, step_months: int = 1, training: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The card of a model trained on ``time_steps`` months (plain types, ``weights_only``-safe).

    Args:
        time_steps: monthly steps per sample.
        step_months: months between consecutive steps.
        training: where and when it was trained, e.g. ``{"aoi": "demo", "start": "2023-01-01", "end":
            "2023-12-31"}``.
    """
    return {
        "task": TASK,
        "classes": DEGRADATION.to_mapping(),
        "bands": {"sar": list(SAR_BANDS), "optical": list(OPTICAL_BANDS)},
        "time_steps": time_steps,
        "step_months": step_months,
        "model_format": MODEL_FORMAT,
        "training": dict(training or {}),
        "package_version": permafusion.__version__,
    }


def check_model_format(payload: Mapping[str, Any], *, path: str | Path) -> None:
    """Refuse a checkpoint written for another :data:`MODEL_FORMAT`, saying what to do.

    Raises:
        ValueError: the checkpoint's card records no or another model format.
    """
    card = payload.get("card")
    found = card.get("model_format", 1) if isinstance(card, Mapping) else 1
    if found != MODEL_FORMAT:
        raise ValueError(
            f"checkpoint {path} is of model format {found}, this version of permafusion reads format "
            f"{MODEL_FORMAT} (networks with validity-mask inputs and a normalised ConvLSTM): retrain it "
            "(snakemake --forcerun train), or map with the permafusion version that wrote it"
        )


def check_card(
    payload: Mapping[str, Any], *, path: str | Path, time_steps: int, step_months: int = 1
) -> dict[str, Any]:
    """The checkpoint's card, if an AOI with ``time_steps`` steps ``step_months`` apart can be mapped with it.

    Raises:
        ValueError: the checkpoint has no card, or its task, classes, bands or time steps differ from the
            AOI's; the message names the checkpoint, what differs and what to change.
    """
    card = payload.get("card")
    if not isinstance(card, Mapping):
        raise ValueError(
            f"checkpoint {path} carries no model card (task, classes, bands, time steps), so whether it fits "
            "this AOI cannot be checked: retrain it with this version of permafusion"
        )
    expected = model_card(time_steps=time_steps)
    problems = []
    if card.get("task") != TASK:
        problems.append(f"it is a model of the {card.get('task')!r} task, not {TASK!r}")
    if card.get("classes") != expected["classes"]:
        problems.append("its classes differ from the degradation classes")
    if card.get("bands") != expected["bands"]:
        problems.append(f"it was trained on bands {card.get('bands')}, the AOI gives {expected['bands']}")
    if card.get("time_steps") != time_steps:
        problems.append(
            f"it was trained on {card.get('time_steps')} monthly time steps, the AOI's patches.time_steps is "
            f"{time_steps}: set patches.time_steps to {card.get('time_steps')} in the AOI file"
        )
    trained_every = card.get("step_months", 1)  # cards written before the setting: consecutive months
    if trained_every != step_months:
        problems.append(
            f"its time steps are {trained_every} month(s) apart, the AOI's patches.step_months is "
            f"{step_months}: set patches.step_months to {trained_every} in the AOI file"
        )
    if problems:
        trained = card.get("training") or {}
        where = f" (trained on AOI {trained['aoi']!r})" if "aoi" in trained else ""
        raise ValueError(f"checkpoint {path}{where} does not fit this AOI: " + "; ".join(problems))
    return dict(card)
