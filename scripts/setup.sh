#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine, then builds it.
# - GDAL (libgdal-dev, gdal-bin, python3-gdal for GDAL's COG validator) from the distribution.
# - npm dependencies. gdal-async is built against the system GDAL when one is installed (its
#   prebuilt binary download needs internet access this kind of machine lacks); elsewhere,
#   without system GDAL, npm takes gdal-async's prebuilt binary.
# Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_packages=(libgdal-dev gdal-bin python3-gdal python3-h5py inotify-tools)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null; then
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    log "installing ${missing[*]} (apt-get)"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "no apt-get: install GDAL ${apt_packages[*]} equivalents yourself; continuing with gdal-async's prebuilt binary"
  fi
fi

stamp=node_modules/.setup-stamp
if [[ ! -f $stamp || package-lock.json -nt $stamp || ! -d node_modules/gdal-async/lib/binding ]]; then
  if command -v gdal-config >/dev/null; then
    log "npm ci (gdal-async built against system GDAL $(gdal-config --version); takes a few minutes the first time)"
    # node-gyp would otherwise download Node headers; the distribution's nodejs ships them.
    [[ -f /usr/include/node/node.h ]] && export npm_config_nodedir=/usr
    # node-pre-gyp and node-gyp read these npm_config_* variables (npm 11 prints an "unknown
    # config" warning for them, as it does for the equivalent --build-from-source flags).
    npm_config_build_from_source=gdal-async npm_config_shared_gdal=true npm ci --no-audit --no-fund
  else
    log "npm ci (gdal-async prebuilt binary)"
    npm ci --no-audit --no-fund
  fi
  touch "$stamp"
fi

node -e "const g=require('gdal-async'); if(!g.drivers.get('COG')) { console.error('GDAL has no COG driver'); process.exit(1) }"
log "building"
npm run --silent build
