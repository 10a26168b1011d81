#!/usr/bin/env bash
# The test command: installs what is missing (GDAL, npm dependencies, the Bicep CLI when the .NET
# SDK is present, STAC Browser and Chromium), builds, and runs every vitest suite. The suites
# start their own Azurite.
# Extra arguments go to vitest (e.g. `npm test -- test/unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [[ -f scripts/install-bicep.sh ]] && command -v dotnet >/dev/null; then
  bash scripts/install-bicep.sh >/dev/null
fi
# STAC Browser (built once from npm) and Debian's Chromium, for the real-browser client test.
bash scripts/install-stac-browser.sh
rm -f test-results/junit.xml
status=0
npx vitest run "$@" || status=$?
node scripts/test-summary.mjs test-results/junit.xml || true
exit "$status"
