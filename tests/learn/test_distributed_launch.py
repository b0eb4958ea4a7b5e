"""The torchrun command a training job runs: standalone rendezvous, one process per GPU or gloo process."""

from __future__ import annotations

import sys

import pytest

from permafusion.learn.distributed import torchrun_command


def test_torchrun_command_runs_the_module_in_n_processes() -> None:
    command = torchrun_command("permafusion.tasks.degradation.train", ["--resume-if-compatible"], nprocs=2)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--standalone" in command and "--nproc_per_node=2" in command
    assert command[-3:] == ["-m", "permafusion.tasks.degradation.train", "--resume-if-compatible"]
    with pytest.raises(ValueError, match="at least 1 process"):
        torchrun_command("m", [], nprocs=0)
