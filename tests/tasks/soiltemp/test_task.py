"""The task on the engine's loop: masked loss with gaps, training, checkpoint, prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from soil_support import make_series

from permafusion.tasks.soiltemp.dataset import split_codes
from permafusion.tasks.soiltemp.settings import SoilTrainSettings
from permafusion.tasks.soiltemp.task import SoilTemperatureTask, predict, train_soil_model

SETTINGS = SoilTrainSettings(
    model="gru",
    window=20,
    stride=2,
    hidden=16,
    layers=1,
    epochs=6,
    batch_size=16,
    learning_rate=1e-2,
    device="cpu",
    threads=1,
    eval_batch_size=256,
)


def _split(series):
    return split_codes(series, kind="time", val_start="2001-10-01", test_start="2001-12-01")


def test_loss_ignores_gaps_and_gives_them_no_gradient():
    series = make_series(stations=3, days=400)
    task = SoilTemperatureTask(series, _split(series), settings=SETTINGS)
    task.prepare(torch.device("cpu"))
    batch = task.train_batch(np.arange(8), rng=np.random.default_rng(0), generator=torch.Generator())
    assert batch["x"].shape == (8, 20, len(series.feature_names)) and batch["y"].shape == (8, 3)
    batch["y"][0] = float("nan")  # a day with every depth missing
    outputs = torch.zeros(8, 3, requires_grad=True)
    loss = task.loss(outputs, batch)
    loss.backward()
    assert torch.isfinite(loss) and outputs.grad is not None
    assert torch.all(outputs.grad[0] == 0) and torch.isfinite(outputs.grad).all()
    valid = torch.isfinite(batch["y"])
    expected = (batch["y"][valid] ** 2).mean()
    assert float(loss.detach()) == pytest.approx(float(expected))


def test_training_learns_and_the_checkpoint_predicts_in_degrees(tmp_path):
    series = make_series(stations=4, days=450, seed=1)
    codes = _split(series)
    result = train_soil_model(
        series=series,
        codes=codes,
        checkpoint=tmp_path / "m.pt",
        history=tmp_path / "h.csv",
        settings=SETTINGS,
    )
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    assert state["model_name"] == "gru" and state["depths"] == [0.1, 0.5, 1.0]
    assert len(state["standardizer"]["target_mean"]) == 3 and state["window"] == 20
    spread = float(np.nanstd(series.targets))
    assert result["val_metrics"]["rmse"] < 0.5 * spread, (result["val_metrics"]["rmse"], spread)
    samples = np.array([[0, 300], [3, 440]])
    out = predict(tmp_path / "m.pt", series, samples, device="cpu")
    assert out.shape == (2, 3) and np.isfinite(out).all() and np.abs(out).max() < 40
    other = make_series(stations=4, days=450)
    other.feature_names = [*other.feature_names[:-1], "something_else"]
    with pytest.raises(ValueError, match="trained on features"):
        predict(tmp_path / "m.pt", other, samples, device="cpu")


def test_too_short_a_record_for_the_window_is_explained():
    series = make_series(stations=2, days=40)
    with pytest.raises(ValueError, match="shorten `window`"):
        SoilTemperatureTask(series, _split(series), settings=SoilTrainSettings(window=90))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="model='lstm'"):
        SoilTrainSettings(model="lstm")
    with pytest.raises(ValueError, match="unknown soil temperature training settings"):
        SoilTrainSettings.from_mapping({"windw": 3})


def test_bf16_autocast_and_resume_come_with_the_loop(tmp_path):
    import dataclasses

    series = make_series(stations=3, days=420, seed=2)
    settings = dataclasses.replace(SETTINGS, model="tcn", precision="bf16", epochs=2)
    files = {
        "series": series,
        "codes": _split(series),
        "checkpoint": tmp_path / "m.pt",
        "history": tmp_path / "h.csv",
    }
    first = train_soil_model(**files, settings=settings)
    assert np.isfinite(first["val_metrics"]["rmse"])
    again = train_soil_model(**files, settings=settings, resume=True)
    assert again["resumed_from"] == 2 and again["best_epoch"] == first["best_epoch"]
