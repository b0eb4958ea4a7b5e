"""The soil-temperature task on the engine's loop: windows in, every depth out, gaps masked.

Data live on the training device as whole arrays (stations x days x features, a few MB); a batch is
gathered there from (station, day) samples (:func:`permafusion.tasks.soiltemp.windows.gather_windows`).
Inputs and targets are standardised with training statistics, stored in the checkpoint; the loss is the
masked MSE over observed depths in standardised units, validation scores are RMSE, MAE, bias and R² per
depth in °C (the epoch with the lowest mean RMSE is kept).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from permafusion.core.devices import resolve_device
from permafusion.learn.loop import RunFiles, fit
from permafusion.learn.regression import masked_mse, regression_report, regression_statistics
from permafusion.learn.task import Batch
from permafusion.tasks.soiltemp.dataset import SPLIT_CODES, SeriesSet
from permafusion.tasks.soiltemp.models import SequenceRegressor, build_model
from permafusion.tasks.soiltemp.settings import SoilTrainSettings
from permafusion.tasks.soiltemp.windows import Standardizer, gather_windows, sample_index

LOG = logging.getLogger(__name__)


def depth_names(depths: list[float]) -> list[str]:
    return [f"{d:g}m" for d in depths]


class SoilTemperatureTask:
    """A :class:`~permafusion.learn.task.TrainingTask` over a :class:`SeriesSet` and its split codes."""

    monitor = "rmse"
    maximize = False
    history_metrics = {"val_rmse": "rmse", "val_mae": "mae", "val_r2": "r2"}

    def __init__(self, series: SeriesSet, codes: np.ndarray, *, settings: SoilTrainSettings) -> None:
        self.series = series
        self.settings = settings
        self.train_samples = sample_index(
            series, length=settings.window, codes=codes, split=SPLIT_CODES["train"], stride=settings.stride
        )
        self.val_samples = sample_index(
            series, length=settings.window, codes=codes, split=SPLIT_CODES["val"], stride=settings.stride
        )
        if not len(self.train_samples) or not len(self.val_samples):
            raise ValueError(
                f"{len(self.train_samples)} training and {len(self.val_samples)} validation windows of "
                f"{settings.window} days with an observation: lengthen the period, shorten `window`, or move "
                "the split dates"
            )
        every_train_day = sample_index(series, length=1, codes=codes, split=SPLIT_CODES["train"])
        self.standardizer = Standardizer.fit(series, every_train_day)
        self.depths = depth_names(series.depths)
        self.device = torch.device("cpu")
        self._tensors: dict[str, torch.Tensor] = {}

    def prepare(self, device: torch.device) -> None:
        self.device = device
        st, series = self.standardizer, self.series
        self._tensors = {
            "dynamic": torch.from_numpy(st.features(series.dynamic)).to(device),
            "statics": torch.from_numpy(st.statics(series.statics)).to(device),
            "band": torch.from_numpy(series.band.astype(np.int64)).to(device),
            "targets": torch.from_numpy(st.targets(series.targets)).to(device),
            "train": torch.from_numpy(self.train_samples).to(device),
            "val": torch.from_numpy(self.val_samples).to(device),
            "mean": torch.tensor(st.target_mean, device=device),
            "std": torch.tensor(st.target_std, device=device),
        }

    def sizes(self) -> tuple[int, int]:
        return len(self.train_samples), len(self.val_samples)

    def build_model(self) -> SequenceRegressor:
        return build_model(self.settings.model, **self.model_kwargs())

    def model_kwargs(self) -> dict[str, Any]:
        s = self.settings
        return {
            "features": len(self.series.feature_names),
            "statics": len(self.series.static_names),
            "bands": len(self.series.band_labels),
            "depths": len(self.series.depths),
            "hidden": s.hidden,
            "layers": s.layers,
            "dropout": s.dropout,
        }

    def _batch(self, samples: torch.Tensor) -> Batch:
        t = self._tensors
        stations = samples[:, 0]
        return {
            "x": gather_windows(t["dynamic"], samples, self.settings.window),
            "statics": t["statics"][stations],
            "band": t["band"][stations],
            "y": t["targets"][stations, samples[:, 1]],
        }

    def train_batch(self, idx: np.ndarray, *, rng: np.random.Generator, generator: torch.Generator) -> Batch:
        return self._batch(self._tensors["train"][torch.from_numpy(np.asarray(idx)).to(self.device)])

    def val_batch(self, idx: np.ndarray) -> Batch:
        return self._batch(
            self._tensors["val"][torch.from_numpy(np.asarray(idx, dtype=np.int64)).to(self.device)]
        )

    def forward(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["x"], batch["statics"], batch["band"])

    def loss(self, outputs: torch.Tensor, batch: Batch) -> torch.Tensor:
        return masked_mse(outputs, batch["y"])

    def val_statistics(self, outputs: torch.Tensor, batch: Batch) -> np.ndarray:
        t = self._tensors
        return regression_statistics(outputs * t["std"] + t["mean"], batch["y"] * t["std"] + t["mean"])

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        return regression_report(statistics, names=self.depths)

    def checkpoint_fields(self, model: torch.nn.Module) -> dict[str, Any]:
        return {
            "task": "soil_temperature",
            "model_name": self.settings.model,
            "model_kwargs": self.model_kwargs(),
            "window": self.settings.window,
            "standardizer": self.standardizer.to_mapping(),
            "depths": list(self.series.depths),
            "feature_names": list(self.series.feature_names),
            "static_names": list(self.series.static_names),
            "band_labels": list(self.series.band_labels),
            "train_samples": len(self.train_samples),
            "val_samples": len(self.val_samples),
        }

    def fingerprint(self) -> str:
        return self.series.fingerprint()


def train_soil_model(
    *,
    series: SeriesSet,
    codes: np.ndarray,
    checkpoint: Path,
    history: Path,
    settings: SoilTrainSettings,
    resume: bool | Literal["if_compatible"] = False,
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Train ``settings.model`` on the train split, keep the best validation epoch (lowest mean RMSE).

    Returns:
        :func:`permafusion.learn.loop.fit`'s summary.
    """
    task = SoilTemperatureTask(series, codes, settings=settings)
    log.info(
        "%s: %d training and %d validation windows of %d days, %d features, %d depths",
        settings.model,
        *task.sizes(),
        settings.window,
        len(series.feature_names),
        len(series.depths),
    )
    return fit(
        task,
        settings=settings,
        files=RunFiles(checkpoint=Path(checkpoint), history=Path(history)),
        identity=settings.to_dict(),
        defaults=SoilTrainSettings().to_dict(),
        resume=resume,
        log=log,
    )


def load_model(checkpoint: str | Path, *, device: torch.device) -> tuple[SequenceRegressor, dict[str, Any]]:
    """A trained model in eval mode and its checkpoint dict."""
    state: dict[str, Any] = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = build_model(state["model_name"], **state["model_kwargs"])
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), state


@torch.no_grad()
def predict(
    checkpoint: str | Path,
    series: SeriesSet,
    samples: np.ndarray,
    *,
    device: str = "auto",
    batch_size: int = 2048,
) -> np.ndarray:
    """(N, Z) predicted temperatures (°C) at the checkpoint's depths for (station, day) ``samples``.

    Raises:
        ValueError: when the series' features differ from the checkpoint's.
    """
    where = resolve_device(device)
    model, state = load_model(checkpoint, device=where)
    if list(state["feature_names"]) != list(series.feature_names) or list(state["static_names"]) != list(
        series.static_names
    ):
        raise ValueError(
            f"checkpoint {checkpoint} was trained on features {state['feature_names']} and statics "
            f"{state['static_names']}; these series have {series.feature_names} and {series.static_names}"
        )
    st = Standardizer.from_mapping(state["standardizer"])
    dynamic = torch.from_numpy(st.features(series.dynamic)).to(where)
    statics = torch.from_numpy(st.statics(series.statics)).to(where)
    band = torch.from_numpy(series.band.astype(np.int64)).to(where)
    window = int(state["window"])
    out = np.empty((len(samples), len(state["depths"])), dtype=np.float32)
    for start in range(0, len(samples), batch_size):
        part = torch.from_numpy(np.asarray(samples[start : start + batch_size], dtype=np.int64)).to(where)
        x = gather_windows(dynamic, part, window)
        y = model(x, statics[part[:, 0]], band[part[:, 0]])
        out[start : start + len(part)] = y.float().cpu().numpy()
    return st.untarget(out)
