# Sourced by .ci/test: provides a real HashiCorp Vault binary for the tests
# as CROSSCLEAR_VAULT_BIN. Vault is built from the Go module proxy in its own
# module (.ci/vault; no Docker, no Debian package here) and cached by the
# hash of that module's go.sum, so only the first run pays the ~10 minutes.
vault_dir="$(pwd)/.ci/vault"
vault_hash=$(cat "$vault_dir/go.mod" "$vault_dir/go.sum" "$vault_dir/main.go" | sha256sum | cut -c1-16)
vault_cache="${XDG_CACHE_HOME:-$HOME/.cache}/crossclear"
vault_bin="$vault_cache/vault-$vault_hash"
if [ ! -x "$vault_bin" ]; then
  say "building Vault from the Go module proxy (first run only, about 10 minutes)"
  mkdir -p "$vault_cache"
  (cd "$vault_dir" && go build -trimpath -ldflags='-s -w' -o "$vault_bin.tmp" .)
  mv "$vault_bin.tmp" "$vault_bin"
fi
"$vault_bin" version
export CROSSCLEAR_VAULT_BIN="$vault_bin"
