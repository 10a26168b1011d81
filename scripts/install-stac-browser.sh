#!/usr/bin/env bash
# Builds STAC Browser (Radiant Earth's web client, npm @radiantearth/stac-browser) once into
# node_modules/.cache/stac-browser/dist for test/clients, and installs Debian's Chromium to drive it.
# (Under node_modules: ignored by git, ESLint and tsc alike; `npm ci` clearing it only means a rebuild.)
# - The npm package ships sources only; it is built with its own npm dependencies, pinned by
#   test/clients/stac-browser/package-lock.json. Without a lock its `ol-stac ^1.1.0` resolves the
#   newest ol-stac, which does not build against the ol 10.6 that STAC Browser 4.0.1 pins, and
#   ol-stac >= 1.2 wants stac-js >= 0.3 objects where STAC Browser hands it stac-js 0.1 ones
#   (its map layer then fails with "getDefaultGeoTIFF is not a function"): ol-stac is pinned
#   to 1.1.0, the release 4.0.1 names.
# - index.html gets its documented runtime config hook (<script src="/config.js">) switched on, so
#   a test serves its own config.js naming the catalog instead of rebuilding per catalog.
# - Only the npm registry and Debian's packages are used. Idempotent: a second run is a no-op.
# Prints the path of the built dist folder on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.0.1
cache=node_modules/.cache/stac-browser
lock=test/clients/stac-browser/package-lock.json
dist=$cache/dist

log() { printf '\033[1m[stac-browser]\033[0m %s\n' "$*" >&2; }

install_chromium() {
  [[ -x /usr/bin/chromium ]] && return 0
  if ! command -v apt-get >/dev/null; then
    log "no apt-get: install Chromium so that /usr/bin/chromium exists"
    return 1
  fi
  local sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  log "installing chromium (apt-get)"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null
}

# The build is keyed on the version, the lock and this script, so changing any of them rebuilds.
build_key() {
  printf '%s\n' "$version" | cat - "$lock" "$0" | sha256sum | cut -c1-16
}

build_stac_browser() {
  local key started
  key=$(build_key)
  if [[ -f $dist/.build-key && $(cat "$dist/.build-key") == "$key" ]]; then
    return 0
  fi
  started=$SECONDS
  log "building STAC Browser $version into $dist (npm ci + webpack: a few minutes the first time)"
  mkdir -p "$cache"
  work=$(realpath "$(mktemp -d "$cache/build.XXXXXX")")
  (cd "$work" && npm pack --silent "@radiantearth/stac-browser@$version" >/dev/null)
  tar xzf "$work"/radiantearth-stac-browser-"$version".tgz -C "$work"
  local src=$work/package
  # The same pin the lock records; npm ci refuses a package.json that disagrees with its lock.
  node -e '
    const fs = require("fs"); const file = process.argv[1];
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    pkg.dependencies["ol-stac"] = "1.1.0";
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");' "$src/package.json"
  local hook='<script defer="defer" src="/config.js"></script>'
  sed -i "s|<!-- $hook -->|$hook|" "$src/public/index.html"
  grep -qF "$hook" "$src/public/index.html" || { log "could not enable the runtime config hook in public/index.html"; return 1; }
  cp "$lock" "$src/package-lock.json"
  # No install scripts: none is needed to build (they set up git hooks and a native file watcher).
  (cd "$src" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
  # SB_* variables would change the build's configuration: build with the defaults only.
  (cd "$src" && env $(env | grep -o '^SB_[^=]*' | sed 's/^/-u /') NODE_ENV=production \
    npx --no-install vue-cli-service build --noSourceMaps >"$work/build.log" 2>&1) || {
    tail -40 "$work/build.log" >&2
    log "build failed"
    return 1
  }
  [[ -f $src/dist/index.html ]] || { log "build produced no dist/index.html"; return 1; }
  printf '%s\n' "$key" >"$src/dist/.build-key"
  rm -rf "$dist"
  mv "$src/dist" "$dist"
  log "built in $((SECONDS - started)) s"
}

work=
trap '[[ -n $work ]] && rm -rf "$work"' EXIT

# One build at a time (two test workers may call this together).
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
install_chromium || log "Chromium is not installed: browser tests will be skipped"
build_stac_browser
realpath "$dist"
