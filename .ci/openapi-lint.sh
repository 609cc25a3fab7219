#!/usr/bin/env bash
# Lints docs/openapi.json with Redocly's CLI (recommended rules plus
# redocly.yaml), installed on first use from the npm registry, pinned, into
# the user's cache: a real validator, not a schema check of our own.
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.77.0
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/hostaccess/redocly-$version"
bin="$prefix/node_modules/.bin/redocly"
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "FAIL: npm is needed to install @redocly/cli (apt-get install nodejs npm)" >&2; exit 1; }
  echo "== installing @redocly/cli@$version into $prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@redocly/cli@$version" >/dev/null
fi
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true "$bin" lint --config .ci/redocly.yaml docs/openapi.json
