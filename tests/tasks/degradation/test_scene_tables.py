"""Tables 2-3 pooled over scenes of the demo generator, and the verdict on the paper's ordering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from permafusion.tasks.degradation.scene_tables import write_scene_tables

F1 = {  # scene -> method -> mean F1 of seeds 0, 1
    "11": {"permafusionnet": [0.80, 0.82], "sar_unet": [0.70, 0.72], "ablation_order_free": [0.75, 0.79]},
    "12": {"permafusionnet": [0.60, 0.62], "sar_unet": [0.66, 0.70], "ablation_order_free": [0.64, 0.60]},
}


def _scene_folder(root: Path, scene: str) -> Path:
    folder = root / scene
    folder.mkdir()
    runs = F1[scene]
    t2 = [
        {"method": m, "seed_index": i, "overall_accuracy": f, "mean_f1": f, "kappa": f}
        for m in ("sar_unet", "permafusionnet")
        for i, f in enumerate(runs[m])
    ]
    t3 = [
        {
            "method": m,
            "seed_index": i,
            "mean_f1": f,
            "delta_mean_f1": None if m == "permafusionnet" else f - runs["permafusionnet"][i],
            "permuted_delta": -0.1,
            "zeroed_delta": -0.05,
        }
        for m in ("permafusionnet", "ablation_order_free")
        for i, f in enumerate(runs[m])
    ]
    pd.DataFrame(t2).to_csv(folder / "table2_seeds.csv", index=False)
    pd.DataFrame(t3).to_csv(folder / "table3_seeds.csv", index=False)
    return folder


def test_scenes_are_pooled_and_the_ordering_judged_per_scene(tmp_path: Path) -> None:
    folders = {s: _scene_folder(tmp_path, s) for s in F1}
    order = write_scene_tables(folders, tmp_path / "out")
    assert order["scenes"]["11"]["full_model_first"] and order["scenes"]["11"]["ablations_below"]
    assert order["scenes"]["12"]["best_method"] == "sar_unet"
    assert order["scenes"]["12"]["ablations_not_below"] == ["ablation_order_free"]
    # pooled: PermaFusionNet 0.71 against 0.695; the ablation -0.015 on average
    assert order["pooled"]["full_model_first"] and order["pooled"]["ablations_below"]
    table3 = (tmp_path / "out" / "table3_scenes.md").read_text().splitlines()
    row = [c.strip() for c in table3[3].strip("|").split("|")]
    assert row[1] == "4" and row[3].startswith("-0.015 ±") and row[4] == "1/4"
    assert row[5] == "-0.040" and row[6] == "+0.010"  # each scene's mean paired difference
    table2 = (tmp_path / "out" / "table2_scenes.md").read_text()
    assert "mF1, scene 12" in table2


def test_a_scene_without_seed_tables_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="scene 13: no .*table2_seeds.csv"):
        write_scene_tables({"13": tmp_path}, tmp_path / "out")
