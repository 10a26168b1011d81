#!/usr/bin/env bash
# Installs the Bicep CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64, restored with the
# .NET SDK (the only route to it here: no download from anywhere but the NuGet registry).
# Idempotent: when .tools/bicep already reports the pinned version it returns at once.
# Prints the absolute path of the bicep binary on its last line of stdout.
set -euo pipefail

# Pinned so CI is repeatable; the registry copy served here lists 0.47.16, 0.48.1 and 0.49.2.
BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
PACKAGE_ID="Azure.Bicep.CommandLine.linux-x64"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${repo_root}/.tools"
bicep_bin="${tools_dir}/bicep"

log() { echo "install-bicep: $*" >&2; }

if [[ -x "${bicep_bin}" ]] && "${bicep_bin}" --version 2>/dev/null | grep -q "${BICEP_VERSION}"; then
  log "Bicep CLI ${BICEP_VERSION} already installed"
  echo "${bicep_bin}"
  exit 0
fi

if ! command -v dotnet >/dev/null 2>&1; then
  log "the .NET SDK (dotnet) is required to restore ${PACKAGE_ID} from NuGet, and it is not on PATH"
  exit 1
fi

mkdir -p "${tools_dir}"
work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT

# A throwaway project whose only job is to make NuGet fetch the package: PackageDownload takes a
# package without referencing it, so no target framework compatibility is needed.
cat > "${work_dir}/restore-bicep.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <IsPackable>false</IsPackable>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="${PACKAGE_ID}" Version="[${BICEP_VERSION}]" />
  </ItemGroup>
</Project>
CSPROJ

# Restored into the throwaway folder: only the binary is kept, not the 230 MB package.
package_cache="${work_dir}/packages"
log "restoring ${PACKAGE_ID} ${BICEP_VERSION} with dotnet restore"
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
  dotnet restore "${work_dir}/restore-bicep.csproj" --packages "${package_cache}" >&2

package_dir="${package_cache}/$(echo "${PACKAGE_ID}" | tr '[:upper:]' '[:lower:]')/${BICEP_VERSION}"
found="$(find "${package_dir}" -type f -name bicep | head -n 1)"
if [[ -z "${found}" ]]; then
  log "the package restored to ${package_dir} holds no 'bicep' binary"
  exit 1
fi

install -m 0755 "${found}" "${bicep_bin}"
log "installed $("${bicep_bin}" --version)"
echo "${bicep_bin}"
