"""The tiny demo through `--profile profiles/slurm` on a one-node SLURM started here, against a local run.

SLURM comes from Debian (`slurm-wlm`, `munge`; installed with apt-get when missing). A configuration in a
temporary folder (no accounting, so job status comes from `squeue` as the profile says), its own munge key
and socket; munged, slurmctld and slurmd are started here and stopped by pid at the end.

To fit the suite's budget the SLURM run starts from the local run's demo data, item lists, label
rasters and composites (copied, times kept) with one month's searches forced: on SLURM run that month's
searches (one group job), the item checks, its composites of both sensors (one group job), patches,
training, evaluation, prediction and the map. Everything that does not depend on the clock (composites,
patches, checkpoint weights, metrics, tiles, map, areas) must be identical to the local run's. Then the
train rule, with `cluster.train_processes: 2`, trains with torchrun and two gloo DDP processes inside its
SLURM allocation.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import yaml
from workflow_support import REPO

from permafusion.composite import open_composite

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

PARTITION = "pftest"
DAEMONS = ("munged", "slurmctld", "slurmd")
NODE_MEMORY_MB = 16000


def _install_slurm() -> None:
    if all(shutil.which(tool) for tool in (*DAEMONS, "sbatch", "squeue", "srun", "scancel")):
        return
    if shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and apt-get is unavailable to install slurm-wlm and munge")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "slurm-wlm", "munge"]
    if subprocess.run(install, env=env, capture_output=True, timeout=1200).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600, check=True)
        subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200, check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slurm_conf(root: Path, host: str) -> str:
    return f"""ClusterName=pftest
SlurmctldHost={host}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
SlurmdParameters=config_overrides
NodeName={host} CPUs={max(2, os.cpu_count() or 1)} RealMemory={NODE_MEMORY_MB} State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _wait_for(check, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.5)


def _stop(pid: int) -> None:
    """SIGTERM, then SIGKILL after 20 s: one daemon this test started."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A one-node SLURM for this module; yields the environment its clients and Snakemake need."""
    _install_slurm()
    root = tmp_path_factory.mktemp("slurm")
    for folder in ("state", "spool", "log", "munge", "bin"):
        (root / folder).mkdir()
    (root / "munge" / "munge.key").write_bytes(os.urandom(1024))
    (root / "munge" / "munge.key").chmod(0o600)
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, socket.gethostname().split(".")[0]))
    # the jobstep plugin drops every SLURM_* variable for its srun inside a job, SLURM_CONF too; a real
    # cluster has its configuration at the default path, this one is pointed at its file
    (root / "bin" / "srun").write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which("srun")} "$@"\n')
    (root / "bin" / "srun").chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{root / 'bin'}:{os.environ['PATH']}"}
    munge = root / "munge"
    commands = {
        "munged": ["munged", "--force", f"--key-file={munge}/munge.key", f"--socket={munge}/munge.sock",
                   f"--pid-file={munge}/munged.pid", f"--log-file={munge}/munged.log",
                   f"--seed-file={munge}/seed"],
        "slurmctld": ["slurmctld", "-f", str(conf)],
        "slurmd": ["slurmd", "-f", str(conf)],
    }  # fmt: skip
    pid_files = {
        "munged": munge / "munged.pid",
        "slurmctld": root / "slurmctld.pid",
        "slurmd": root / "slurmd.pid",
    }
    pids: list[int] = []
    try:
        for name in DAEMONS:  # each daemonizes and writes its pid file
            subprocess.run(commands[name], env=env, check=True, capture_output=True, timeout=60)
            _wait_for(lambda f=pid_files[name]: f.is_file() and f.read_text().strip(), f"{name}'s pid file")
            pids.append(int(pid_files[name].read_text().strip()))

        def node_idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            return out.stdout.strip() == "idle"

        _wait_for(node_idle, "the node becoming idle")
        yield env
    finally:
        subprocess.run(["scancel", f"--partition={PARTITION}"], env=env, capture_output=True, timeout=30)
        for pid in reversed(pids):
            _stop(pid)


def _snakemake_on_slurm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Snakemake with the shipped profile, on the test's partition, without an account (none exists)."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    defaults = {**profile["default-resources"], "slurm_partition": PARTITION}
    defaults.pop("slurm_account")
    command = [
        sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", "--slurm-no-account",
        "--default-resources", *(f"{k}={v}" for k, v in defaults.items()),
        # one 2-core node: the cores and memory of a submitted job, as the local run's --cores 2
        "--cores", "2", "--resources", f"mem_mb={NODE_MEMORY_MB}",
        # a loopback cluster answers at once: check often, so the chain of jobs does not wait on the checks
        "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
        *args,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def _assert_same_outputs(local: Path, cluster: Path) -> None:
    stores = sorted(p.relative_to(local) for p in (local / "composites").glob("*/*/*.zarr"))
    assert len(stores) == 24
    for store in stores:
        a, b = open_composite(local / store), open_composite(cluster / store)
        assert sorted(a.data_vars) == sorted(b.data_vars), store
        for name in a.data_vars:
            assert np.array_equal(a[name].values, b[name].values, equal_nan=True), f"{store}: {name}"
    for table in ("patches/index.csv", "map/area_by_class.csv"):
        assert (local / table).read_text() == (cluster / table).read_text(), table
    metrics = [json.loads((r / "eval/metrics.json").read_text()) for r in (local, cluster)]
    for scores in metrics:
        scores.pop("checkpoint")  # the path it was scored from, in each run's folder
    assert metrics[0] == metrics[1]
    weights = [
        torch.load(r / "model/checkpoint.pt", weights_only=True)["state_dict"] for r in (local, cluster)
    ]
    assert all(torch.equal(value, weights[1][key]) for key, value in weights[0].items())
    rasters = [
        *(p.relative_to(local) for p in (local / "predict").glob("*.tif")),
        Path("map/degradation.tif"),
    ]
    for raster in rasters:
        with rasterio.open(local / raster) as a, rasterio.open(cluster / raster) as b:
            assert a.transform == b.transform and a.crs == b.crs, raster
            assert np.array_equal(a.read(), b.read()), raster


def test_tiny_demo_on_slurm_matches_the_local_run_then_trains_with_ddp(
    slurm: dict[str, str], tiny_demo_results: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    local, out = tiny_demo_results / "demo_tiny", results / "demo_tiny"
    for stage in ("source", "items", "labels", "composites", "terrain"):
        shutil.copytree(local / stage, out / stage)  # copy2: modification times kept
    config = ["--config", "aoi=demo_tiny", f"results={results}"]
    july = [str(out / "items" / sensor / "2023-07.json") for sensor in ("sar", "optical")]
    # the products compared below (the polygons, product mosaics and figures are the local test's)
    compared = ("eval/metrics.json", "map/degradation.tif", "map/area_by_class.csv")
    run = _snakemake_on_slurm(slurm, *(str(out / name) for name in compared), "--forcerun", *july, *config)
    log = run.stdout + run.stderr
    assert "has been submitted with SLURM jobid" in log
    # the profile's groups: July's two searches in one job, its two composites in another
    submitted = [line for line in log.splitlines() if "has been submitted with SLURM jobid" in line]
    assert sum("group_composite" in line for line in submitted) == 1
    assert sum("group_search" in line for line in submitted) == 1
    assert any("rule_train" in line for line in submitted) and any(
        "rule_build_map" in line for line in submitted
    )
    _assert_same_outputs(local, out)

    # two gloo processes under torchrun, inside the train job's allocation; a fresh start, not a resume
    (out / "model" / "checkpoint.state.pt").unlink()
    ddp = tmp_path / "ddp.yaml"
    ddp.write_text(yaml.safe_dump({"cluster": {"train_processes": 2}}))
    _snakemake_on_slurm(slurm, "--configfile", "config/config.yaml", str(ddp), "--forcerun", "train",
                        "--until", "train", *config)  # fmt: skip
    payload = torch.load(out / "model" / "checkpoint.pt", weights_only=True)
    assert payload["processes"] == 2
    train_log = (out / "logs" / "train.log").read_text()
    assert "torch.distributed.run" in train_log and "x 2 process(es)" in train_log
