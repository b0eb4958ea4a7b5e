"""Tables 2-3 over training seeds: mean ± sd, paired per-seed differences, diagnostics."""

from __future__ import annotations

import json

import pytest

from permafusion.tasks.degradation.seed_tables import mean_sd, seed_table2, seed_table3, write_seed_tables


def _run(f1: float, *, permuted: float | None = None, zeroed: float | None = None) -> dict:
    run: dict = {
        "model": {
            "overall_accuracy": f1 + 0.1,
            "mean_f1": f1,
            "kappa": f1 - 0.1,
            "per_class": {"stable permafrost": {"f1": f1}},
        }
    }
    if permuted is not None:
        run["temporal_diagnostics"] = {"permuted_delta": permuted, "zeroed_delta": zeroed}
    return run


def test_mean_sd_formats_mean_and_sample_sd() -> None:
    assert mean_sd([0.5, 0.7]) == "0.600 ± 0.141"
    assert mean_sd([0.5]) == "0.500"
    assert mean_sd([0.01, 0.03], signed=True) == "+0.020 ± 0.014"
    assert mean_sd([0.5, 0.6], percent=True) == "55.0 ± 7.1"
    assert mean_sd([float("nan")]) == "—"


def test_table3_pairs_seeds_and_reports_diagnostics() -> None:
    metrics = {
        "permafusionnet": [_run(0.8, permuted=-0.2, zeroed=-0.3), _run(0.7, permuted=-0.1, zeroed=-0.2)],
        "ablation_order_free": [_run(0.6, permuted=0.0, zeroed=-0.4), _run(0.75, permuted=0.0, zeroed=-0.4)],
    }
    frame, markdown = seed_table3(metrics, ["ablation_order_free"])
    deltas = frame.loc[frame["method"] == "ablation_order_free", "delta_mean_f1"].tolist()
    assert deltas == pytest.approx([-0.2, 0.05])
    assert "-0.075 ± 0.177" in markdown and "1/2" in markdown and "-0.200 +0.050" in markdown
    assert "-0.150 ± 0.071" in markdown  # the full model's permutation diagnostic
    with pytest.raises(ValueError, match="cannot be paired"):
        short = {**metrics, "ablation_order_free": metrics["ablation_order_free"][:1]}
        seed_table3(short, ["ablation_order_free"])


def test_table2_and_files(tmp_path) -> None:
    frame, markdown = seed_table2({"random_forest": [_run(0.5), _run(0.7)]}, ["random_forest"])
    assert len(frame) == 2 and "0.600 ± 0.141" in markdown
    paths = {}
    for name, runs in {"permafusionnet": [0.8, 0.7], "random_forest": [0.5, 0.7]}.items():
        paths[name] = []
        for k, f1 in enumerate(runs):
            path = tmp_path / f"{name}{k}.json"
            path.write_text(json.dumps(_run(f1)))
            paths[name].append(path)
    written = write_seed_tables(
        metrics=paths, methods=["random_forest", "permafusionnet"], ablations=[], out_dir=tmp_path / "t"
    )
    assert "Random Forest" in written["table2_seeds.md"].read_text()
    assert written["table3_seeds.csv"].exists()
