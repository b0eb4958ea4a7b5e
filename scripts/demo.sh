#!/usr/bin/env bash
# The demo command of the README quickstart: install, then the whole pipeline on the offline demo AOI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
snakemake --cores all "$@"
