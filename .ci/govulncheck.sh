# Sourced by .ci/test (which defines `say`): govulncheck on ./..., failing when
# the code calls a vulnerable function of a module (docs/supply-chain.md).
#
# The Go vulnerability database is not reachable from here, only the Go module
# proxy; so the database comes from the golang.org/x/vulndb module pinned in
# .ci/vuln/go.mod (its data/osv holds every report as OSV JSON), indexed into
# the v1 layout govulncheck reads by that module's own cmd/indexdb, and
# govulncheck runs from golang.org/x/vuln pinned in the same module. Both tools
# and the database are cached in ~/.cache/crossclear by the tool module's hash.

vuln_dir="$(pwd)/.ci/vuln"
vuln_hash=$(cat "$vuln_dir/go.mod" "$vuln_dir/go.sum" "$vuln_dir/main.go" | sha256sum | cut -c1-16)
vuln_cache="${XDG_CACHE_HOME:-$HOME/.cache}/crossclear/vuln-$vuln_hash"
if [ ! -f "$vuln_cache/db/index/db.json" ]; then
  say "building govulncheck and its database from the Go module proxy into $vuln_cache (first run only, a few minutes)"
  rm -rf "$vuln_cache.tmp"
  mkdir -p "$vuln_cache.tmp"
  (cd "$vuln_dir" && go build -o "$vuln_cache.tmp/" golang.org/x/vulndb/cmd/indexdb \
    && go build -o "$vuln_cache.tmp/vulncheck" .)
  vulndb_osv="$(cd "$vuln_dir" && go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv"
  "$vuln_cache.tmp/indexdb" -vulns "$vulndb_osv" -out "$vuln_cache.tmp/db"
  rm -rf "$vuln_cache"
  mv "$vuln_cache.tmp" "$vuln_cache"
fi
say "govulncheck ($(cd "$vuln_dir" && go list -m -f '{{.Path}}@{{.Version}}' golang.org/x/vulndb))"
"$vuln_cache/vulncheck" -db "$vuln_cache/db" ./...
