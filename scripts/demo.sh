#!/usr/bin/env bash
# The demo in one command: install what is missing, build, then run scripts/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/scripts/demo.js "$@"
