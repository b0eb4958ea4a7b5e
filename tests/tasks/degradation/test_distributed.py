"""Two CPU processes (gloo) train with DistributedDataParallel and rank 0 writes a loadable checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
import torch
from test_train import TINY, synthetic_store

from permafusion.learn.distributed import backend_for, process_device
from permafusion.learn.state import state_path
from permafusion.tasks.degradation.predict import load_model
from permafusion.tasks.degradation.train import TrainSettings, spawn_training


def test_backend_and_device_choice() -> None:
    assert backend_for("cpu") == "gloo" and process_device("cpu", 1) == "cpu"
    assert backend_for("cuda") == "nccl" and process_device("cuda", 1) == "cuda:1"


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")
def test_two_process_gloo_training_writes_a_checkpoint(tmp_path: Path) -> None:
    store, index = synthetic_store(tmp_path, n=8, splits=["train"] * 5 + ["val", "val", "test"])
    checkpoint, history = tmp_path / "model.pt", tmp_path / "history.csv"
    settings = TrainSettings.from_mapping({**TINY, "threads": 1})
    spawn_training(
        nprocs=2,
        init_file=tmp_path / "rendezvous",
        patches=store,
        index=index,
        checkpoint=checkpoint,
        history=history,
        settings=settings,
        log=logging.getLogger("test"),
    )
    payload = torch.load(checkpoint, weights_only=True)
    assert payload["processes"] == 2 and payload["best_epoch"] in (1, 2)
    assert not any(k.startswith("module.") for k in payload["state_dict"])
    model, _ = load_model(checkpoint)
    assert not model.training
    state = torch.load(state_path(checkpoint), weights_only=True)
    assert state["epoch"] == 2 and state["processes"] == 2
    assert list(pd.read_csv(history)["epoch"]) == [1, 2]
    assert not list(tmp_path.glob("*.tmp"))
