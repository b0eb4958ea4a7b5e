"""Atomic writes: a finished block replaces the target (file or folder) whole; a failed one leaves it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from permafusion.core.files import atomic_write, write_csv, write_json, write_text


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_finished_block_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "result.txt"  # the parent is created
    with atomic_write(target) as tmp:
        assert tmp != target and tmp.parent == target.parent and not target.exists()
        tmp.write_text("new")
    assert target.read_text() == "new" and _siblings(target) == ["result.txt"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failing_block_keeps_the_old_file_and_no_temporary(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "result.txt"
    target.write_text("old")
    with pytest.raises(type(error)), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise error
    assert target.read_text() == "old" and _siblings(target) == ["result.txt"]


def test_stale_temporary_is_removed_and_suffix_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "map.png"
    (tmp_path / "map.png.tmp.png").write_text("left by a killed run")
    with atomic_write(target, suffix=".png") as tmp:
        assert tmp.name == "map.png.tmp.png" and not tmp.exists()
        tmp.write_bytes(b"png")
    assert target.read_bytes() == b"png" and _siblings(target) == ["map.png"]


def test_folder_target_is_replaced_whole(tmp_path: Path) -> None:
    store = tmp_path / "store.zarr"
    (store / "group").mkdir(parents=True)
    (store / "a").write_text("old a")
    (store / "group" / "b").write_text("old b")
    with atomic_write(store) as tmp:
        tmp.mkdir()
        (tmp / "c").write_text("new c")
    assert sorted(p.name for p in store.rglob("*")) == ["c"] and (store / "c").read_text() == "new c"
    assert _siblings(store) == ["store.zarr"]  # no .tmp and no .old left


def test_failing_folder_write_keeps_the_old_folder(tmp_path: Path) -> None:
    store = tmp_path / "store.zarr"
    store.mkdir()
    (store / "a").write_text("old a")
    with pytest.raises(RuntimeError), atomic_write(store) as tmp:
        tmp.mkdir()
        (tmp / "c").write_text("half")
        raise RuntimeError("killed")
    assert [p.name for p in store.iterdir()] == ["a"] and _siblings(store) == ["store.zarr"]


def test_write_json_round_trip(tmp_path: Path) -> None:
    data = {"rmse": 0.5, "r2": None, "per_output": {"0.2 m": {"count": 3}}, "names": ["a", "b"]}
    write_json(data, tmp_path / "report.json")
    assert json.loads((tmp_path / "report.json").read_text()) == data
    write_json(data, tmp_path / "compact.json", indent=None)
    assert "\n" not in (tmp_path / "compact.json").read_text()


def test_write_csv_round_trip_without_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({"epoch": [1, 2], "val_rmse": [0.75, 0.5], "name": ["x", "y"]}, index=[7, 9])
    write_csv(frame, tmp_path / "history.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "history.csv"), frame.reset_index(drop=True))
    write_text("plain", tmp_path / "note.txt")
    assert (tmp_path / "note.txt").read_text() == "plain"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "note.txt"]
