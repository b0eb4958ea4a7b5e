#!/usr/bin/env bash
# The GPU check in one go: model/training/prediction tests on CUDA (bf16 included), training throughput of
# the paper-size PermaFusionNet (eager and torch.compile, MFU against the bf16 matmul peak of the same run)
# and of the thaw-slump U-Net and the soil-temperature GRU,
# inference km²/s and predict_over_floor, and a 1-GPU torchrun DDP smoke run over NCCL. Every figure, with
# the GPU, driver, CUDA and torch versions, goes to JSON files under OUTDIR.
#
#   bash benchmarks/gpu_check.sh OUTDIR          # on a GPU machine (PyTorch with CUDA; no zarr/GDAL needed)
#   bash benchmarks/gpu_check.sh OUTDIR --cpu    # the same steps, reduced, on CPU with gloo (CI, < 1 min)
#
# It needs no package registry: it runs the package from this checkout (PYTHONPATH), and the code it
# exercises imports without the geospatial stack. Each step has a time limit; a failed step is recorded
# in OUTDIR/summary.json and the script goes on, then exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash benchmarks/gpu_check.sh OUTDIR [--cpu]}
MODE=${2:-gpu}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
declare -A STATUS

step() {  # step NAME LIMIT_S COMMAND...: run, log to OUTDIR/NAME.log, record the exit status
  local name=$1 limit=$2
  shift 2
  echo "== $name (at most ${limit} s)"
  local start=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  STATUS[$name]=$rc
  echo "   exit $rc after $((SECONDS - start)) s; last lines:"
  tail -n 3 "$OUT/$name.log" | sed 's/^/   /'
}

"$PY" benchmarks/env_info.py >"$OUT/env.json" || echo "{}" >"$OUT/env.json"
if [ "$MODE" = "--cpu" ]; then
  DEVICE=cpu
  step tests 120 "$PY" -m pytest -q -p no:cacheprovider --device cpu \
    tests/tasks/degradation/test_on_device.py -k "prediction or (trains_through and fp32)"
  step train_throughput 120 "$PY" benchmarks/train_throughput.py --device cpu --preset small --batch 1 \
    --steps 1 --out "$OUT/train_throughput.json"
  step train_throughput_rts 60 "$PY" benchmarks/train_throughput.py --device cpu --task rts --preset small \
    --steps 1 --out "$OUT/train_throughput_rts.json"
  step train_throughput_soil 60 "$PY" benchmarks/train_throughput.py --device cpu --task soil_temperature \
    --preset small --steps 1 --out "$OUT/train_throughput_soil.json"
  step predict 120 "$PY" benchmarks/predict.py --device cpu --preset small --size 128 --out "$OUT/predict.json"
  step ddp_smoke 120 "$PY" -m torch.distributed.run --nproc_per_node=2 benchmarks/ddp_smoke.py \
    --device cpu --out "$OUT"
else
  DEVICE=cuda
  step tests 150 "$PY" -m pytest -q -p no:cacheprovider --device cuda tests/tasks/degradation/test_on_device.py \
    tests/learn/test_loop.py tests/learn/test_losses.py tests/learn/test_regression.py
  step train_throughput 200 "$PY" benchmarks/train_throughput.py --device cuda --compile both \
    --out "$OUT/train_throughput.json"
  step train_throughput_rts 60 "$PY" benchmarks/train_throughput.py --device cuda --task rts --compile off \
    --out "$OUT/train_throughput_rts.json"
  step train_throughput_soil 60 "$PY" benchmarks/train_throughput.py --device cuda --task soil_temperature \
    --compile off --out "$OUT/train_throughput_soil.json"
  step predict 90 "$PY" benchmarks/predict.py --device cuda --out "$OUT/predict.json"
  step ddp_smoke 60 "$PY" -m torch.distributed.run --nproc_per_node=1 benchmarks/ddp_smoke.py \
    --device cuda --precision bf16 --out "$OUT"
fi

# one summary: the environment, every step's status and the headline figures
"$PY" - "$OUT" "$DEVICE" "${STATUS[tests]}" "${STATUS[train_throughput]}" "${STATUS[train_throughput_rts]}" \
  "${STATUS[train_throughput_soil]}" "${STATUS[predict]}" "${STATUS[ddp_smoke]}" <<'PYTHON'
import json, sys
from pathlib import Path

out, device, *codes = sys.argv[1:]
out = Path(out)
names = ["tests", "train_throughput", "train_throughput_rts", "train_throughput_soil", "predict", "ddp_smoke"]


def load(name):
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


summary = {
    "device": device,
    "env": load("env"),
    "steps": dict(zip(names, (int(code) for code in codes))),
    "train_throughput": load("train_throughput"),
    "train_throughput_rts": load("train_throughput_rts"),
    "train_throughput_soil": load("train_throughput_soil"),
    "predict": load("predict"),
    "ddp_smoke": load("ddp_smoke"),
}
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
train, predict = summary["train_throughput"] or {}, summary["predict"] or {}
print("steps:", summary["steps"])
print("train: mfu/fraction of matmul peak", train.get("fraction_of_matmul_peak"), "samples/s", train.get("samples_per_s"))
print("predict: km2/s", predict.get("km2_per_s"), "predict_over_floor", predict.get("predict_over_floor"))
sys.exit(1 if any(int(code) for code in codes) else 0)
PYTHON
