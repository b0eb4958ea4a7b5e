"""The slump task on the engine's loop: training, the checkpoint as a model card, prediction, and the
threshold baseline, on a small synthetic tile set."""

import dataclasses

import numpy as np
import pytest
import torch

from permafusion.tasks.rts.baseline import ThresholdBaseline, tune_threshold
from permafusion.tasks.rts.dataset import ALL_CHANNELS, TileSet
from permafusion.tasks.rts.normalize import MinMax
from permafusion.tasks.rts.predict import load_model, predict_probability
from permafusion.tasks.rts.train import RtsTrainSettings, split_training, train_slump_model


def _tileset(n: int = 48, size: int = 32, seed: int = 0) -> TileSet:
    rng = np.random.default_rng(seed)
    x = np.empty((n, 5, size, size), np.float32)
    x[:, :4] = rng.normal([0.03, 0.05, 0.045, 0.28], 0.01, size=(n, size, size, 4)).transpose(0, 3, 1, 2)
    x[:, 4] = rng.uniform(0, 3, size=(n, size, size))
    y = np.ones((n, size, size), np.uint8)
    for i in range(0, n, 2):  # every other tile holds a bright, steep slump
        r, c = rng.integers(4, size - 12, size=2)
        y[i, r : r + 8, c : c + 8] = 2
        x[i, :4, r : r + 8, c : c + 8] = np.array([0.08, 0.1, 0.12, 0.17])[:, None, None]
        x[i, 4, r : r + 8, c : c + 8] = 12.0
    sites = np.array(["a", "b", "c"])[np.arange(n) % 3]
    return TileSet(
        x=x,
        y=y,
        site=sites,
        year=np.full(n, 2019),
        row=np.zeros(n, int),
        col=np.zeros(n, int),
        test=np.arange(n) >= n - 6,
        channels=ALL_CHANNELS,
    )


SETTINGS = RtsTrainSettings(
    epochs=3,
    batch_size=8,
    learning_rate=3e-3,
    preset="small",
    device="cpu",
    threads=1,
    precision="fp32",
    seed=0,
)


def test_split_undersamples_and_keeps_test_images_and_other_sites_out():
    tiles = _tileset()
    train, val = split_training(tiles, sites=["a", "b"], settings=SETTINGS)
    both = np.concatenate([train, val])
    assert not set(both) & set(np.flatnonzero(tiles.test))
    assert set(tiles.site[both]) == {"a", "b"} and not set(train) & set(val)
    assert tiles.positive[both].sum() == (~tiles.positive[both]).sum()


def test_no_positive_tile_in_the_training_sites_names_the_sites():
    tiles = _tileset()
    tiles.y[tiles.site == "a"] = 1
    with pytest.raises(ValueError, match=r"positive set is empty for sites \['a'\]"):
        split_training(tiles, sites=["a"], settings=SETTINGS)


def test_training_writes_a_card_with_normalisation_and_predicts_whole_images(tmp_path):
    tiles = _tileset()
    result = train_slump_model(
        tiles,
        sites=["a", "b", "c"],
        settings=SETTINGS,
        checkpoint=tmp_path / "m.pt",
        history=tmp_path / "h.csv",
        resume=False,
    )
    assert result["epochs"] == 3 and (tmp_path / "h.csv").is_file()
    model, fields = load_model(tmp_path / "m.pt")
    assert fields["card"]["task"] == "rts" and fields["channels"] == list(ALL_CHANNELS)
    stats = MinMax.from_mapping(fields["normalization"])
    assert stats.maximum[4] == pytest.approx(12.0)
    image = np.concatenate([tiles.x[0], tiles.x[2]], axis=2)[:, :, :50]  # 32 x 50: not a multiple of 16
    image[:, 0, 0] = np.nan
    prob = predict_probability(model, image, stats=stats, window=32, margin=4)
    assert prob.shape == (32, 50) and np.isnan(prob[0, 0]) and np.nanmin(prob) >= 0 and np.nanmax(prob) <= 1
    again = train_slump_model(
        tiles,
        sites=["a", "b", "c"],
        settings=SETTINGS,
        checkpoint=tmp_path / "m.pt",
        history=tmp_path / "h.csv",
        resume=True,
    )
    assert again["resumed_from"] == 3  # the loop's resume serves this task too
    assert torch.load(tmp_path / "m.pt", weights_only=True)["settings"]["sites"] == "a,b,c"


def test_threshold_baseline_finds_bright_bare_ground():
    tiles = _tileset()
    bands = tiles.x[:, :4]
    baseline = tune_threshold(bands, tiles.y, ["B02", "B03", "B04", "B08"])
    predicted = baseline.predict(bands, ["B02", "B03", "B04", "B08"])
    assert ((predicted == 2) == (tiles.y == 2)).mean() > 0.99
    assert isinstance(baseline, ThresholdBaseline) and baseline.ndvi_max < 0.5


def test_training_runs_in_two_gloo_processes(tmp_path):
    from permafusion.tasks.rts.train import spawn_training

    tiles = _tileset()
    tiles.save(tmp_path / "tiles.npz")
    settings = dataclasses.replace(SETTINGS, epochs=1, blur_probability=0.0)
    spawn_training(
        nprocs=2,
        init_file=tmp_path / "rendezvous",
        tiles=tmp_path / "tiles.npz",
        sites=["a", "b", "c"],
        settings=settings,
        checkpoint=tmp_path / "ddp.pt",
        history=tmp_path / "ddp.csv",
        resume=False,
    )
    checkpoint = torch.load(tmp_path / "ddp.pt", weights_only=True)
    assert checkpoint["processes"] == 2 and checkpoint["card"]["task"] == "rts"
