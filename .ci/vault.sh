# Sourced by .ci/test (which defines `say`): provides a real HashiCorp Vault
# binary for the tests as CROSSCLEAR_VAULT_BIN, from the first of:
#
#   1. CROSSCLEAR_VAULT_BIN, when it is already set (to an executable);
#   2. a `vault` on PATH whose `vault version` is 1.15 or newer (the tests use
#      transit ed25519 and ecdsa-p256 keys, file storage, dev mode, AppRole);
#   3. Vault built from the Go module proxy in its own module (.ci/vault; no
#      Docker, no Debian package here), cached by the hash of that module's
#      go.mod, go.sum and main.go in ~/.cache/crossclear. Only the first run
#      builds: about 15 minutes on a quiet 2-core machine, up to an hour on a
#      busy one, with a heartbeat line every minute.

vault_min_major=1
vault_min_minor=15

# vault_usable BIN: true when BIN runs and says it is Vault 1.15 or newer.
# Call it only as a condition (if/&&/||), so that set -e stays out of it.
vault_usable() {
  local out major minor
  out=$("$1" version 2>/dev/null) || return 1
  [[ $out =~ v?([0-9]+)\.([0-9]+)\.[0-9]+ ]] || return 1
  major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  (( major > vault_min_major || (major == vault_min_major && minor >= vault_min_minor) ))
}

vault_build_estimate="about 15 minutes on a quiet 2-core machine, up to an hour on a busy one"

if [ -n "${CROSSCLEAR_VAULT_BIN:-}" ]; then
  if [ ! -x "$CROSSCLEAR_VAULT_BIN" ] || [ -d "$CROSSCLEAR_VAULT_BIN" ]; then
    echo "CROSSCLEAR_VAULT_BIN=$CROSSCLEAR_VAULT_BIN is not an executable file;" >&2
    echo "unset it to use a vault on PATH or build one (${vault_build_estimate})" >&2
    exit 1
  fi
  say "using Vault from CROSSCLEAR_VAULT_BIN: $CROSSCLEAR_VAULT_BIN"
  vault_bin=$CROSSCLEAR_VAULT_BIN
elif vault_on_path=$(command -v vault 2>/dev/null) && vault_usable "$vault_on_path"; then
  say "using the Vault on PATH: $vault_on_path"
  vault_bin=$vault_on_path
else
  if [ -n "${vault_on_path:-}" ]; then
    say "ignoring $vault_on_path: not Vault ${vault_min_major}.${vault_min_minor} or newer ($("$vault_on_path" version 2>&1 | head -n 1 || true))"
  fi
  vault_dir="$(pwd)/.ci/vault"
  vault_hash=$(cat "$vault_dir/go.mod" "$vault_dir/go.sum" "$vault_dir/main.go" | sha256sum | cut -c1-16)
  vault_cache="${XDG_CACHE_HOME:-$HOME/.cache}/crossclear"
  vault_bin="$vault_cache/vault-$vault_hash"
  if [ ! -x "$vault_bin" ]; then
    say "building Vault from the Go module proxy into $vault_bin (first run only, ${vault_build_estimate};"
    say "set CROSSCLEAR_VAULT_BIN or put vault >= ${vault_min_major}.${vault_min_minor} on PATH to skip this)"
    mkdir -p "$vault_cache"
    vault_start=$(date +%s)
    # The heartbeat stops with the build (its sleep too), or within a minute
    # of this shell going away (background jobs of a script ignore Ctrl-C).
    (
      trap 'kill "${vault_sleep:-}" 2>/dev/null; exit 0' TERM
      while :; do
        sleep 60 & vault_sleep=$!
        wait "$vault_sleep" || true
        kill -0 $$ 2>/dev/null || exit 0
        say "still building Vault: $(( ($(date +%s) - vault_start) / 60 )) min elapsed (${vault_build_estimate})"
      done
    ) &
    vault_heartbeat=$!
    vault_status=0
    (cd "$vault_dir" && go build -trimpath -ldflags='-s -w' -o "$vault_bin.tmp" .) || vault_status=$?
    kill "$vault_heartbeat" 2>/dev/null || true
    wait "$vault_heartbeat" 2>/dev/null || true
    if [ "$vault_status" -ne 0 ]; then
      rm -f "$vault_bin.tmp"
      echo "building Vault failed (exit $vault_status) after $(( ($(date +%s) - vault_start) / 60 )) min" >&2
      exit "$vault_status"
    fi
    mv "$vault_bin.tmp" "$vault_bin"
    say "built Vault in $(( ($(date +%s) - vault_start) / 60 )) min"
  fi
fi
"$vault_bin" version
export CROSSCLEAR_VAULT_BIN="$vault_bin"
