"""Tables 1-3 from a fake patch index and fake metrics JSONs: formatting, intervals, paired differences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from permafusion.learn.bootstrap import bootstrap_ci
from permafusion.learn.metrics import metrics_report
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.tables import (
    fold_markdown,
    fold_table,
    markdown_table,
    paired_difference_ci,
    table2,
    table3,
    write_tables,
)

METHODS = ["random_forest", "sar_unet", "permafusionnet"]
ABLATIONS = ["ablation_single_step", "ablation_no_skips"]


def fake_metrics(accuracy: float, *, patches: int = 20, seed: int = 0) -> dict:
    """Metrics of a classifier right with probability ~accuracy, from per-patch confusion matrices."""
    rng = np.random.default_rng(seed)
    cms = np.zeros((patches, 4, 4), dtype=np.int64)
    for i in range(patches):
        truth = rng.integers(0, 4, 200)
        wrong = rng.random(200) > accuracy
        pred = np.where(wrong, (truth + rng.integers(1, 4, 200)) % 4, truth)
        np.add.at(cms[i], (truth, pred), 1)
    return {
        "split": "test",
        "patches": patches,
        "patch_ids": list(range(patches)),
        "unit_confusion": cms.tolist(),
        "model": {
            **metrics_report(cms.sum(axis=0), scheme=DEGRADATION),
            "ci95": bootstrap_ci(cms, n_boot=200, seed=0, scheme=DEGRADATION),
        },
    }


@pytest.fixture
def metrics() -> dict[str, dict]:
    accuracies = {
        "random_forest": 0.6,
        "sar_unet": 0.7,
        "permafusionnet": 0.9,
        "ablation_single_step": 0.8,
        "ablation_no_skips": 0.85,
    }
    return {name: fake_metrics(acc, seed=i) for i, (name, acc) in enumerate(accuracies.items())}


def test_table2_formats_like_the_paper(metrics: dict[str, dict]) -> None:
    frame, markdown = table2(metrics, METHODS)
    assert list(frame["method"]) == METHODS
    assert {
        "overall_accuracy",
        "overall_accuracy_ci_low",
        "overall_accuracy_ci_high",
        "kappa_ci_high",
    } <= set(frame.columns)
    assert {f"f1_{c}" for c in ("stable", "active", "thermo", "degrad")} <= set(frame.columns)
    lines = markdown.splitlines()
    assert lines[0].split("|")[1].strip() == "Method" and "OA (%)" in lines[0] and "F1-Degrad." in lines[0]
    assert set(lines[1]) <= {"|", "-", ":"}
    row = [c.strip() for c in lines[-1].strip("|").split("|")]
    assert row[0] == "PermaFusionNet"
    oa = metrics["permafusionnet"]["model"]["overall_accuracy"]
    lo, hi = metrics["permafusionnet"]["model"]["ci95"]["overall_accuracy"]
    assert row[1] == f"{100 * oa:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
    assert all(len(lines[0]) == len(line) for line in lines)  # padded columns
    mf1 = row[2].split(" ")[0]
    assert len(mf1.split(".")[1]) == 3  # F1 with three decimals


def test_table3_differences_have_paired_intervals(metrics: dict[str, dict]) -> None:
    frame, markdown = table3(metrics, ABLATIONS, n_boot=300)
    full = frame.iloc[0]
    assert full["method"] == "permafusionnet" and pd.isna(full["delta_overall_accuracy"])
    single = frame.set_index("method").loc["ablation_single_step"]
    expected = (
        metrics["ablation_single_step"]["model"]["overall_accuracy"]
        - metrics["permafusionnet"]["model"]["overall_accuracy"]
    )
    assert single["delta_overall_accuracy"] == pytest.approx(expected)
    assert single["delta_overall_accuracy_ci_low"] <= expected <= single["delta_overall_accuracy_ci_high"]
    assert single["delta_overall_accuracy_ci_high"] < 0  # 0.8 vs 0.9 on 4000 pixels: clearly worse
    lines = markdown.splitlines()
    assert "Δ OA" in lines[0] and "Δ mF1" in lines[0]
    assert lines[2].count("—") == 2 and lines[2].startswith("| Full PermaFusionNet")
    assert "w/o temporal LSTM" in lines[3] and f"{100 * expected:+.1f} [" in lines[3]


def test_paired_interval_is_narrower_than_the_unpaired_spread() -> None:
    a = np.asarray(fake_metrics(0.9, seed=1)["unit_confusion"])
    same = paired_difference_ci(a, a, n_boot=100)
    assert same["overall_accuracy"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="one shape"):
        paired_difference_ci(a, a[:3])


def test_table3_without_patch_matrices_gives_the_difference_only(metrics: dict[str, dict]) -> None:
    for name in metrics:
        metrics[name].pop("unit_confusion")
    frame, markdown = table3(metrics, ABLATIONS)
    assert frame["delta_overall_accuracy_ci_low"].isna().all()
    assert "[" not in markdown.splitlines()[3].split("|")[4] and "[" in markdown.splitlines()[3].split("|")[2]


def test_missing_method_is_named(metrics: dict[str, dict]) -> None:
    with pytest.raises(KeyError, match="ef_cnn"):
        table2(metrics, ["ef_cnn"])


def test_markdown_table_aligns_numbers_right() -> None:
    text = markdown_table(["a", "bb"], [["x", "1.0"], ["long", "22.5"]])
    assert text.splitlines()[1] == "|------|-----:|"
    assert text.splitlines()[2] == "| x    |  1.0 |"


def test_write_tables(metrics: dict[str, dict], tmp_path: Path) -> None:
    index = tmp_path / "index.csv"
    pd.DataFrame(
        {
            "patch_id": range(6),
            "split": ["train"] * 3 + ["val", "test", "test"],
            "dominant_class": [1, 2, 3, 4, 1, 2],
        }
    ).to_csv(index, index=False)
    paths = {}
    for name, m in metrics.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(m))
    written = write_tables(
        index=index,
        metrics=paths,
        methods=METHODS,
        ablations=ABLATIONS,
        out_dir=tmp_path / "tables",
        n_boot=50,
    )
    assert sorted(written) == sorted(f"table{n}.{e}" for n in (1, 2, 3) for e in ("csv", "md"))
    table1 = pd.read_csv(written["table1.csv"])
    assert table1.iloc[-1]["total"] == 6 and table1.iloc[-1]["train"] == 3
    md1 = written["table1.md"].read_text()
    assert "| Class" in md1 and "Total Patches" in md1 and "Stable permafrost" in md1
    assert len(pd.read_csv(written["table2.csv"])) == 3 and len(pd.read_csv(written["table3.csv"])) == 3


def test_fold_table_lists_regions_and_their_mean() -> None:
    def scores(oa: float, f1: float) -> dict:
        return {
            "patches": 4,
            "model": {
                "overall_accuracy": oa,
                "mean_f1": f1,
                "kappa": 0.5,
                "ci95": {"mean_f1": [f1 - 0.1, f1 + 0.1]},
            },
            "majority_baseline": {"mean_f1": 0.2},
        }

    table = fold_table({"a": scores(0.8, 0.6), "b": scores(0.6, 0.4)})
    assert list(table["held_out_region"]) == ["a", "b", "mean over regions"]
    np.testing.assert_allclose(table.loc[2, ["overall_accuracy", "mean_f1"]].astype(float), [0.7, 0.5])
    assert table.loc[2, ["test_patches", "mean_f1_ci_low"]].isna().all()  # no interval for the mean
    text = fold_markdown(table)
    assert "| a " in text and "60.0 [50.0, 70.0]" in text and "mean over regions" in text
