#!/usr/bin/env bash
# The test command of the README quickstart: install, lint, type-check, then the whole suite (the demo
# workflow on the tiny AOI included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python -m ruff check permafusion tests workflow/scripts
python -m ruff format --check permafusion tests workflow/scripts
python -m mypy permafusion
python -m pytest -q --durations=10 "$@"
