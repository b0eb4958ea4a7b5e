"""Tables 2 and 3 pooled over scenes: the same experiment run on several scenes of the demo generator
(``demo_seed``), each with its training seeds (:mod:`.seed_tables`).

One scene decides much of a ranking on synthetic data: where its classes happen to fall can favour one
architecture. So the per-seed rows of every scene's ``table{2,3}_seeds.csv`` are pooled (mean ± sd over all
scene-and-seed runs), each scene's own mean is shown beside the pooled one, and :func:`paper_order` says
whether the paper's ordering (the full model first in Table 2, every ablation below it in Table 3) holds
pooled and in each scene.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from permafusion.core.files import write_text
from permafusion.tasks.degradation.seed_tables import mean_sd
from permafusion.tasks.degradation.tables import ABLATION_LABELS, DASH, METHOD_LABELS, markdown_table

FULL = "permafusionnet"


def read_scene_tables(folders: Mapping[str, str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-seed rows of each scene's ``table2_seeds.csv`` and ``table3_seeds.csv``, with a ``scene``
    column (scene name -> the run's ``tables`` folder).

    Raises:
        FileNotFoundError: naming a scene whose seed tables are missing.
    """
    parts: dict[str, list[pd.DataFrame]] = {"table2_seeds": [], "table3_seeds": []}
    for scene, folder in folders.items():
        for name, frames in parts.items():
            path = Path(folder) / f"{name}.csv"
            if not path.is_file():
                raise FileNotFoundError(
                    f"scene {scene}: no {path}; run `snakemake --cores all tables` for it first "
                    "(with `experiments.seeds` set)"
                )
            frames.append(pd.read_csv(path).assign(scene=str(scene)))
    return pd.concat(parts["table2_seeds"]), pd.concat(parts["table3_seeds"])


def _per_scene(
    values: pd.DataFrame, column: str, scenes: Sequence[str], *, signed: bool = False
) -> list[str]:
    means = values.groupby("scene")[column].mean()
    return [DASH if s not in means else f"{means[s]:+.3f}" if signed else f"{means[s]:.3f}" for s in scenes]


def scene_table2(rows: pd.DataFrame) -> str:
    """Markdown: mean F1 and OA of every method over all scene-and-seed runs, and each scene's mean F1."""
    scenes = list(dict.fromkeys(rows["scene"]))
    lines = []
    for method, runs in rows.groupby("method", sort=False):
        lines.append(
            [
                METHOD_LABELS.get(str(method), str(method)),
                str(len(runs)),
                mean_sd(list(runs["overall_accuracy"]), percent=True),
                mean_sd(list(runs["mean_f1"])),
                *_per_scene(runs, "mean_f1", scenes),
            ]
        )
    header = ["Method", "runs", "OA (%)", "mF1", *(f"mF1, scene {s}" for s in scenes)]
    return markdown_table(header, lines)


def scene_table3(rows: pd.DataFrame) -> str:
    """Markdown: each ablation's paired difference to the full model over all scene-and-seed runs (same
    scene, same seed), each scene's mean difference, and the temporal diagnostics."""
    scenes = list(dict.fromkeys(rows["scene"]))
    lines = []
    for method, runs in rows.groupby("method", sort=False):
        full = method == FULL
        diff = list(runs["delta_mean_f1"].dropna())
        lines.append(
            [
                ABLATION_LABELS.get(str(method), str(method)),
                str(len(runs)),
                mean_sd(list(runs["mean_f1"])),
                DASH if full else mean_sd(diff, signed=True),
                DASH if full else f"{sum(d > 0 for d in diff)}/{len(diff)}",
                *([DASH] * len(scenes) if full else _per_scene(runs, "delta_mean_f1", scenes, signed=True)),
                mean_sd(list(runs["permuted_delta"]), signed=True),
                mean_sd(list(runs["zeroed_delta"]), signed=True),
            ]
        )
    header = [
        "Configuration",
        "runs",
        "mF1",
        "Δ mF1 (paired)",
        "runs better",
        *(f"Δ mF1, scene {s}" for s in scenes),
        "Δ mF1, months permuted",
        "Δ mF1, recurrence zeroed",
    ]
    return markdown_table(header, lines)


def paper_order(table2_rows: pd.DataFrame, table3_rows: pd.DataFrame) -> dict[str, Any]:
    """Whether the paper's ordering holds, pooled and per scene: the full model has the highest mean F1 of
    Table 2's methods, and every ablation's mean paired difference to it is negative.

    Returns:
        ``{"pooled": {"full_model_first": bool, "ablations_below": bool, "best_method": str}, "scenes":
        {scene: {...}}}``.
    """

    def verdict(t2: pd.DataFrame, t3: pd.DataFrame) -> dict[str, Any]:
        means = t2.groupby("method")["mean_f1"].mean()
        deltas = t3.dropna(subset=["delta_mean_f1"]).groupby("method")["delta_mean_f1"].mean()
        return {
            "best_method": str(means.idxmax()),
            "full_model_first": bool(means.idxmax() == FULL),
            "ablations_below": bool((deltas < 0).all()),
            "ablations_not_below": sorted(str(m) for m in deltas.index[deltas >= 0]),
        }

    scenes = list(dict.fromkeys(table2_rows["scene"]))
    return {
        "pooled": verdict(table2_rows, table3_rows),
        "scenes": {
            s: verdict(table2_rows[table2_rows["scene"] == s], table3_rows[table3_rows["scene"] == s])
            for s in scenes
        },
    }


def write_scene_tables(folders: Mapping[str, str | Path], out_dir: str | Path) -> dict[str, Any]:
    """Write ``table2_scenes.md`` and ``table3_scenes.md`` into ``out_dir``; returns :func:`paper_order`."""
    table2_rows, table3_rows = read_scene_tables(folders)
    write_text(scene_table2(table2_rows), Path(out_dir) / "table2_scenes.md")
    write_text(scene_table3(table3_rows), Path(out_dir) / "table3_scenes.md")
    return paper_order(table2_rows, table3_rows)
