"""What a job asks a scheduler for: memory that grows with each retry, GPUs on CUDA runs, and the job
count once Snakemake groups many small jobs into one submission.

The workflow's rules take their ``resources`` from here (workflow/rules/*.smk), and the dry-run and
scale benchmarks count submissions with :func:`grouped_job_count`, so the rules and the figures use one
definition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any


def attempt_scaled(base: int) -> Callable[..., int]:
    """A Snakemake resource callable: ``base`` on the first attempt, ``base * attempt`` on each retry.

    A job killed for memory (or time) is rerun by ``--retries`` with a larger request.

    Raises:
        ValueError: for a base below 1.
    """
    if base < 1:
        raise ValueError(f"a resource base must be at least 1, got {base}")

    def scaled(wildcards: Any, attempt: int) -> int:
        return base * attempt

    return scaled


def gpus_for(device: str, gpus: int) -> int:
    """GPUs a job asks for: ``gpus`` when the ``device`` setting is CUDA (``cuda`` or ``cuda:N``), else 0.

    ``auto`` asks for none: it uses a GPU when the node has one, so a cluster run that wants GPUs says
    ``device: cuda``.

    Raises:
        ValueError: for fewer than 1 GPU on a CUDA device.
    """
    if not device.startswith("cuda"):
        return 0
    if gpus < 1:
        raise ValueError(f"device {device!r} needs at least 1 GPU per job, got {gpus}")
    return gpus


def gpu_model_for(device: str, gpu_model: str | None) -> str:
    """The ``gpu_model`` resource: the model on CUDA runs when one is set, else an empty string (no model)."""
    return gpu_model if device.startswith("cuda") and gpu_model else ""


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table a Snakemake dry run prints."""
    table = dry_run_output.split("Job stats:")[1].split("\n\n")[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
        if m.group(1) != "total"
    }


def grouped_job_count(
    jobs: Mapping[str, int], groups: Mapping[str, str], group_components: Mapping[str, int]
) -> int:
    """Submissions of a run once jobs are grouped: each rule of ``groups`` puts its jobs in that group, and
    ``group_components[group]`` independent jobs of a group go in one submission (Snakemake's
    ``--group-components``); other jobs are one submission each.

    The count holds when a group's jobs do not depend on one another (tile-month composites, monthly
    searches): each is then its own connected component.

    Args:
        jobs: rule -> job count (a dry run's job stats).
        groups: rule -> group name.
        group_components: group name -> jobs per submission (1 when absent).

    Raises:
        ValueError: for a group size below 1.
    """
    per_group: dict[str, int] = {}
    count = 0
    for rule, n in jobs.items():
        group = groups.get(rule)
        if group is None:
            count += n
        else:
            per_group[group] = per_group.get(group, 0) + n
    for group, n in per_group.items():
        size = group_components.get(group, 1)
        if size < 1:
            raise ValueError(f"group {group!r}: jobs per submission must be at least 1, got {size}")
        count += math.ceil(n / size)
    return count
