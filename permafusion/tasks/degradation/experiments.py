"""The comparison of the paper (§5.1 baselines, Table 2; §5.3 ablations, Table 3) on one AOI's patches.

Every method is trained on the train split and scored on the same test patches with the same metrics
(:func:`permafusion.tasks.degradation.evaluate.evaluate_predictor`: per-patch confusion matrices, their sum
for OA, kappa, mean and per-class F1, a patch bootstrap for the 95 % intervals). Networks (any name of
:data:`permafusion.tasks.degradation.models.registry.MODEL_NAMES`) train with
:func:`permafusion.tasks.degradation.train.train_model` under the main model's settings with only ``model``
changed; the random forest (:class:`~permafusion.tasks.degradation.models.baselines.RandomForestBaseline`) is
fitted here by scikit-learn.

Storage of the random forest: a fitted scikit-learn forest has no tensor-only form, so it is saved with
``joblib`` (pickle). Loading a pickle runs code chosen by whoever wrote the file: :func:`load_random_forest`
is meant for files this pipeline wrote itself under its results folder; never point it at a file from
elsewhere. (``skops.io`` would load safely but is not a dependency; the networks' checkpoints stay
``torch.load(weights_only=True)``-safe.) The file records a format version and the forest's parameters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from permafusion.core.files import atomic_write
from permafusion.learn.metrics import confusion_matrix, metrics_report
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.evaluate import evaluate, evaluate_predictor
from permafusion.tasks.degradation.models.baselines.random_forest import RandomForestBaseline
from permafusion.tasks.degradation.models.registry import MODEL_NAMES
from permafusion.tasks.degradation.patch_store import PatchArrays, load_split, read_split_ids

LOG = logging.getLogger(__name__)

RANDOM_FOREST = "random_forest"

#: Every method an experiment can run: the random forest and every network of the registry.
EXPERIMENT_METHODS: tuple[str, ...] = (RANDOM_FOREST, *MODEL_NAMES)

#: Version of the random-forest file written by :func:`train_random_forest`.
RF_FORMAT = 1

#: Settings of the random forest that the experiments config may set (see :class:`RandomForestBaseline`).
RF_SETTINGS = frozenset(
    {"n_estimators", "max_depth", "min_samples_leaf", "max_pixels_per_class", "class_weight"}
)


def check_method(method: str) -> None:
    """Raise a ValueError naming the known methods if ``method`` is not one of them."""
    if method not in EXPERIMENT_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(EXPERIMENT_METHODS)}")


def train_random_forest(
    *,
    patches: Path,
    index: Path,
    out: Path,
    settings: Mapping[str, Any] | None = None,
    seed: int = 0,
    threads: int | None = None,
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Fit the random-forest baseline on the train split and save it (joblib, see the module notes).

    Args:
        patches: the Zarr patch store.
        index: the patch index CSV.
        out: output file (``.joblib``), written atomically.
        settings: forest settings, keys of :data:`RF_SETTINGS` (defaults of :class:`RandomForestBaseline`).
        seed: seed of the pixel draw and the forest (the training seed of the networks).
        threads: scikit-learn jobs (None: 1).
        log: where progress goes.

    Returns:
        ``{"train_patches", "val_patches", "val_metrics", "seconds", "settings"}``.

    Raises:
        ValueError: for unknown settings, or an empty or unlabeled train or val split.
    """
    import joblib  # scikit-learn's own dependency

    patches, index, out = Path(patches), Path(index), Path(out)
    settings = dict(settings or {})
    unknown = set(settings) - RF_SETTINGS
    if unknown:
        raise ValueError(f"unknown random-forest settings {sorted(unknown)}; known: {sorted(RF_SETTINGS)}")
    ids = read_split_ids(index)
    train = load_split(patches, ids["train"], split="train", index=index)
    val = load_split(patches, ids["val"], split="val", index=index)
    log.info(
        "random forest %s on %d train patches (%d px, T=%d), seed %d",
        settings or "with default settings",
        len(ids["train"]),
        train.sar.shape[-1],
        train.sar.shape[1],
        seed,
    )
    tick = time.perf_counter()
    forest = RandomForestBaseline(**settings, n_jobs=threads, seed=seed)
    forest.fit(train.sar, train.optical, train.label)
    predicted = np.argmax(forest.predict_proba(val.sar, val.optical), axis=1) + 1
    val_metrics = metrics_report(
        confusion_matrix(val.label, predicted, num_classes=DEGRADATION.num_classes), scheme=DEGRADATION
    )
    seconds = time.perf_counter() - tick
    payload = {
        "format_version": RF_FORMAT,
        "model_name": RANDOM_FOREST,
        "settings": {**settings, "seed": seed},
        "forest": forest,
        "val_metrics": val_metrics,
        "train_patches": len(ids["train"]),
    }
    with atomic_write(out) as tmp:
        joblib.dump(payload, tmp)
    log.info(
        "random forest fitted in %.0f s: val mean F1 %.3f, val OA %.3f; saved %s",
        seconds,
        val_metrics["mean_f1"] or float("nan"),
        val_metrics["overall_accuracy"] or float("nan"),
        out,
    )
    return {
        "train_patches": len(ids["train"]),
        "val_patches": len(ids["val"]),
        "val_metrics": val_metrics,
        "seconds": seconds,
        "settings": {**settings, "seed": seed},
    }


def load_random_forest(path: Path) -> RandomForestBaseline:
    """The forest saved by :func:`train_random_forest`.

    Only for files this pipeline wrote: unpickling runs code chosen by the file's author.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a random-forest file of this format.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"random forest {path} not found; run the train_random_forest step first")
    payload = joblib.load(path)  # trusted: written by train_random_forest into our own results
    if (
        not isinstance(payload, dict)
        or payload.get("model_name") != RANDOM_FOREST
        or payload.get("format_version") != RF_FORMAT
    ):
        raise ValueError(f"{path} is not a random-forest file of format {RF_FORMAT}; retrain it")
    forest = payload["forest"]
    if not isinstance(forest, RandomForestBaseline):
        raise ValueError(f"{path} holds {type(forest).__name__}, not a RandomForestBaseline; retrain it")
    return forest


def evaluate_experiment(
    *,
    method: str,
    model_file: Path,
    patches: Path,
    index: Path,
    split: Literal["train", "val", "test"] = "test",
    device: str = "cpu",
    n_boot: int = 1000,
    seed: int = 0,
    diagnostics: bool = True,
) -> dict[str, Any]:
    """Score one method's trained model on a split, as :func:`.evaluate.evaluate` scores the main model.

    Args:
        method: a name of :data:`EXPERIMENT_METHODS`.
        model_file: the network checkpoint, or the random-forest file.
        patches: the Zarr patch store.
        index: the patch index CSV.
        split: which split to score.
        device: for networks: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        n_boot: bootstrap replicates over the split's units (labelled regions, or patches).
        seed: bootstrap seed (the same for every method, so intervals and differences are paired).
        diagnostics: for networks, also score the split with months permuted and with the recurrence
            zeroed (:func:`permafusion.tasks.degradation.diagnostics.temporal_diagnostics`).

    Returns:
        The dict of :func:`permafusion.tasks.degradation.evaluate.evaluate` with ``"method"``,
        ``"model_file"``, the per-unit matrices (``"patch_ids"``, ``"unit_confusion"``) that
        :mod:`permafusion.tasks.degradation.tables` uses for paired differences, and for networks
        ``"temporal_diagnostics"``.

    Raises:
        ValueError: for an unknown method (and see :func:`permafusion.tasks.degradation.evaluate.evaluate`).
    """
    check_method(method)
    if method == RANDOM_FOREST:
        forest = load_random_forest(Path(model_file))

        def predict(data: PatchArrays) -> np.ndarray:
            return forest.predict_proba(data.sar, data.optical)

        scores = evaluate_predictor(
            predict,
            patches=patches,
            index=index,
            split=split,
            n_boot=n_boot,
            seed=seed,
            keep_unit_confusion=True,
        )
    else:
        import torch

        saved = torch.load(model_file, map_location="cpu", weights_only=True).get(
            "model_name", "permafusionnet"
        )
        if saved != method:
            raise ValueError(f"{model_file} holds a {saved!r} model, not {method!r}: retrain that experiment")
        scores = evaluate(
            checkpoint=model_file,
            patches=patches,
            index=index,
            split=split,
            device=device,
            n_boot=n_boot,
            seed=seed,
            keep_unit_confusion=True,
        )
        scores.pop("checkpoint")
        if diagnostics:
            scores["temporal_diagnostics"] = _diagnostics(model_file, patches, index, split, device)
    return {"method": method, "model_file": str(model_file), **scores}


def _diagnostics(model_file: Path, patches: Path, index: Path, split: str, device: str) -> dict[str, Any]:
    from permafusion.tasks.degradation.diagnostics import temporal_diagnostics
    from permafusion.tasks.degradation.patch_store import load_split, read_split_ids
    from permafusion.tasks.degradation.predict import load_model

    model, stats = load_model(model_file, device)
    data = load_split(patches, read_split_ids(index)[split], split=split, index=index)
    return temporal_diagnostics(model, stats, data)
