#!/usr/bin/env bash
# govulncheck on this module, offline: against a local copy of the Go
# vulnerability database built from a pinned golang.org/x/vulndb module,
# since vuln.go.dev cannot be reached from CI (only the Go module proxy can).
#
#   .ci/govulncheck.sh [govulncheck flags]   e.g. -show verbose, -format json
#
# Exits with govulncheck's status: 0 when no vulnerability reaches our code,
# 3 when one does (the text output names it), 1 on errors.
#
# The database: the vulndb module zip carries data/osv/GO-*.json, the
# generated OSV entry of every published report, and cmd/indexdb, vulndb's
# own tool that writes a v1 database (index/db.json, index/modules.json,
# index/vulns.json, ID/GO-*.json, each with its .gz) from such a folder.
# cmd/gendb is not used: it needs the vulndb git repository (it clones or
# opens one and takes each entry's `modified` time from git history), which a
# module zip is not. A consequence: every entry's `modified` (and most
# `published`) time is zero, so govulncheck's "DB updated" reads 0001-01-01;
# the header line below names the vulndb version (and its commit time) instead.
# Matching is unaffected: it uses the affected modules, versions and symbols.
#
# Both tools and the database are built once and cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/hostaccess (HOSTACCESS_CACHE overrides it),
# keyed by version. To move to a newer database, change VULNDB_VERSION to a
# newer pseudo-version of golang.org/x/vulndb
# (go list -m -json golang.org/x/vulndb@master shows the latest).
set -euo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

cache="${HOSTACCESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hostaccess}"
# govulncheck must be built by the Go that builds us: it type-checks the
# standard library of that Go and refuses sources newer than itself.
goversion=$(go env GOVERSION)
bin="$cache/bin/$goversion"
govulncheck="$bin/govulncheck"
db="$cache/vulndb/$VULNDB_VERSION"

# Installs and downloads run outside this module (in a scratch dir, no
# workspace) so that they never touch go.mod or go.sum.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tool_go() { (cd "$scratch" && GOWORK=off GO111MODULE=on go "$@"); }

# 1. govulncheck, reinstalled if missing or of another version.
if ! "$govulncheck" -version 2>/dev/null | grep -q "govulncheck@$GOVULNCHECK_VERSION\$"; then
  echo "== installing govulncheck $GOVULNCHECK_VERSION into $bin"
  mkdir -p "$bin"
  GOBIN="$bin" tool_go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi

# 2. The database, built once per vulndb version.
if [ ! -s "$db/index/modules.json" ]; then
  echo "== building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION"
  src=$(tool_go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
    echo "FAIL: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv folder (src='$src')" >&2
    exit 1
  fi
  GOBIN="$scratch/bin" tool_go install "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION"
  mkdir -p "$(dirname "$db")"
  tmpdb=$(mktemp -d "$db.tmp.XXXXXX")
  "$scratch/bin/indexdb" -vulns "$src/data/osv" -out "$tmpdb"
  # A database that lost its entries would make every scan pass: refuse one
  # that is implausibly small or lacks a long-known entry (GO-2022-0969,
  # net/http HTTP/2 server hang) under the standard library.
  entries=$(find "$tmpdb/ID" -name 'GO-*.json' | wc -l)
  if [ "$entries" -lt 1000 ] || ! grep -q '"path":"stdlib","vulns":\[[^]]*"id":"GO-2022-0969"' "$tmpdb/index/modules.json"; then
    echo "FAIL: the database built from golang.org/x/vulndb@$VULNDB_VERSION looks wrong ($entries entries)" >&2
    rm -rf "$tmpdb"
    exit 1
  fi
  # Publish it whole, atomically; if a concurrent run got there first, keep theirs.
  mv -T "$tmpdb" "$db" 2>/dev/null || rm -rf "$tmpdb"
fi

# 3. The scan.
entries=$(find "$db/ID" -name 'GO-*.json' | wc -l)
stamp=${VULNDB_VERSION#v0.0.0-}
stamp=${stamp%%-*}
echo "== govulncheck $GOVULNCHECK_VERSION on $goversion, DB golang.org/x/vulndb@$VULNDB_VERSION" \
  "(commit of ${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:8:2}:${stamp:10:2} UTC, $entries entries, file://$db)"
set +e
"$govulncheck" -db "file://$db" "$@" ./...
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "govulncheck: exit status $status (3: vulnerable code is called; see above)" >&2
fi
exit "$status"
