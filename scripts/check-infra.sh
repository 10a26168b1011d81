#!/usr/bin/env bash
# Compiles and lints every Bicep template and parameters file under infra/ with the Bicep CLI from
# scripts/install-bicep.sh (infra/params/ holds the parameter combinations that matter: both Durable
# backends, network isolation on and off). Fails on any error or warning: `bicep lint` exits 0 on
# warnings, so the diagnostics are counted here. Then checks the syntax of every GitHub Actions
# workflow with action-validator (the @action-validator/cli dev dependency).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bicep="$(bash "${repo_root}/scripts/install-bicep.sh" | tail -n 1)"
out_dir="$(mktemp -d)"
trap 'rm -rf "${out_dir}"' EXIT

mapfile -t files < <(cd "${repo_root}" && find infra -type f \( -name '*.bicep' -o -name '*.bicepparam' \) | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "check-infra: no .bicep or .bicepparam files under infra/" >&2
  exit 1
fi

log="${out_dir}/diagnostics.log"
: > "${log}"
status=0
cd "${repo_root}"
for file in "${files[@]}"; do
  if [[ "${file}" == *.bicepparam ]]; then
    "${bicep}" build-params "${file}" --outfile "${out_dir}/$(basename "${file}").json" >>"${log}" 2>&1 || status=1
  else
    "${bicep}" build "${file}" --outdir "${out_dir}" >>"${log}" 2>&1 || status=1
  fi
  "${bicep}" lint "${file}" >>"${log}" 2>&1 || status=1
done

errors=$(grep -c ' : Error ' "${log}" || true)
warnings=$(grep -c ' : Warning ' "${log}" || true)
cat "${log}"
echo "check-infra: ${#files[@]} files built and linted with $("${bicep}" --version): ${errors} errors, ${warnings} warnings"
if [[ ${status} -ne 0 || ${errors} -ne 0 || ${warnings} -ne 0 ]]; then
  echo "check-infra: FAILED (every template must build and lint with zero errors and zero warnings)" >&2
  exit 1
fi

mapfile -t workflows < <(find .github/workflows -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
for workflow in "${workflows[@]}"; do
  if ! npx --no-install action-validator "${workflow}"; then
    echo "check-infra: FAILED (${workflow} is not a valid GitHub Actions workflow)" >&2
    exit 1
  fi
done
echo "check-infra: ${#workflows[@]} GitHub Actions workflow(s) valid (action-validator)"
