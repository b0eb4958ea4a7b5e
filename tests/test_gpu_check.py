"""benchmarks/gpu_check.sh in its reduced CPU form: every step runs and the summary holds the figures."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_reduced_on_cpu(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), str(tmp_path), "--cpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["steps"].values()) == {0} and len(summary["steps"]) == 6
    assert summary["train_throughput_rts"]["model"] == "rts_unet"
    assert summary["train_throughput_soil"]["model"] == "soil_gru"
    assert summary["env"]["torch"] and summary["device"] == "cpu"
    assert summary["train_throughput"]["samples_per_s"] > 0
    assert summary["train_throughput"]["flops_per_step"] > 0
    assert summary["predict"]["km2_per_s"] > 0 and summary["predict"]["predict_over_floor"] > 0
    assert summary["ddp_smoke"]["world_size"] == 2 and summary["ddp_smoke"]["backend"] == "gloo"
    assert summary["ddp_smoke"]["processes_in_checkpoint"] == 2
