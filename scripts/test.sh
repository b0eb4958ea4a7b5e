#!/usr/bin/env bash
# The test command of the README quickstart: install, then the whole suite (the demo workflow included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python -m pytest -q --durations=10 "$@"
