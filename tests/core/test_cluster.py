"""Scheduler requests: attempt-scaled memory, GPUs on CUDA only, and job counts after grouping."""

from __future__ import annotations

import pytest

from permafusion.core.cluster import attempt_scaled, gpu_model_for, gpus_for, grouped_job_count


def test_memory_grows_with_each_attempt() -> None:
    mem = attempt_scaled(4000)
    assert [mem(None, attempt) for attempt in (1, 2, 3)] == [4000, 8000, 12000]
    with pytest.raises(ValueError, match="at least 1"):
        attempt_scaled(0)


def test_gpus_only_for_cuda_devices() -> None:
    assert gpus_for("cuda", 4) == 4 and gpus_for("cuda:1", 1) == 1
    assert gpus_for("cpu", 4) == 0 and gpus_for("auto", 2) == 0
    assert gpu_model_for("cuda", "a100") == "a100"
    assert gpu_model_for("cpu", "a100") == "" and gpu_model_for("cuda", None) == ""
    with pytest.raises(ValueError, match="at least 1 GPU"):
        gpus_for("cuda", 0)


def test_grouped_job_count_packs_each_group_by_its_size() -> None:
    jobs = {"search_items": 24, "composite_sar": 100, "composite_optical": 100, "train": 1}
    groups = {"search_items": "search", "composite_sar": "composite", "composite_optical": "composite"}
    assert grouped_job_count(jobs, groups, {}) == 225
    # 24 searches in 1 job, 200 composites in ceil(200 / 48) = 5, train alone
    assert grouped_job_count(jobs, groups, {"search": 24, "composite": 48}) == 1 + 5 + 1
    with pytest.raises(ValueError, match="group 'composite'"):
        grouped_job_count(jobs, groups, {"composite": 0})
