#!/usr/bin/env bash
# Install permafusion and its dependencies with pip (Python >= 3.11, no conda needed).
# PyTorch goes first and pinned: left to the package's `torch>=` requirement, pip would pick the newest
# build with several GB of CUDA packages. Set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu for
# the small CPU-only build from PyTorch's index; on a GPU machine install the CUDA build of your choice
# first, and this script leaves it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import torch" 2>/dev/null; then
  python -m pip install --quiet "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
fi
python -m pip install --quiet -e ".[test]"
