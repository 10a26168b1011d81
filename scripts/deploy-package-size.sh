#!/usr/bin/env bash
# Measures the deployment package that `azd deploy` (and `func azure functionapp publish`) would
# upload: every file of the project that the ignore file leaves, zipped. azd reads .funcignore with
# gitignore rules; this uses git's own gitignore matcher on a scratch index, so nothing of the
# project's git state (its .gitignore, what is tracked) enters the count.
#
#   bash scripts/deploy-package-size.sh [ignore-file]     # default: .funcignore
#   DEPLOY_PROJECT_DIR=/tmp/old-tree bash scripts/deploy-package-size.sh /tmp/old-tree/.funcignore
#                                                         # another checkout (e.g. `git archive` of an older commit)
#
# Builds dist/ first (`npx tsc -p tsconfig.json`, what azd's local build step runs), because dist/
# is on disk when azd packages. The local node_modules is left out whatever the ignore file says:
# here it is a symlink, which gitignore's `node_modules/` (a directory pattern) would not match,
# while azd always meets a real directory.
set -euo pipefail

repo_root="$(cd "${DEPLOY_PROJECT_DIR:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
ignore_file="$(realpath "${1:-${repo_root}/.funcignore}")"
scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT

cd "${repo_root}"
npx tsc -p tsconfig.json

GIT_DIR="${scratch}/git" git init -q
GIT_DIR="${scratch}/git" GIT_WORK_TREE="${repo_root}" git ls-files --others --exclude-from="${ignore_file}" \
  | grep -v -E '^node_modules(/|$)' | LC_ALL=C sort > "${scratch}/files"

zip -q -X -@ "${scratch}/package.zip" < "${scratch}/files"
files=$(wc -l < "${scratch}/files")
unpacked=$(tr '\n' '\0' < "${scratch}/files" | du -cb --files0-from=- | tail -n 1 | cut -f 1)
zipped=$(stat -c %s "${scratch}/package.zip")
echo "deploy-package-size: ${ignore_file#"${repo_root}/"}: ${files} files, ${unpacked} bytes unpacked, ${zipped} bytes zipped"
if [[ "${DEPLOY_PACKAGE_LIST:-}" == "1" ]]; then
  cat "${scratch}/files"
fi
