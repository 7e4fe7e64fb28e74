# Sourced by .ci/test (which defines `say`): provides litewitness and
# witnessctl (filippo.io/torchwood v0.6.1, a c2sp.org/tlog-witness
# implementation nobody here wrote) for the witness interoperability tests
# as CROSSCLEAR_LITEWITNESS_BIN (a directory holding both), and the
# ssh-agent litewitness keeps its key in (Debian's openssh-client). Built
# once from the Go module proxy into ~/.cache/crossclear (about a minute on
# a quiet machine: pure Go, SQLite included).

litewitness_version=v0.6.1
if [ -z "${CROSSCLEAR_LITEWITNESS_BIN:-}" ]; then
  CROSSCLEAR_LITEWITNESS_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/crossclear/litewitness-$litewitness_version"
  if [ ! -x "$CROSSCLEAR_LITEWITNESS_BIN/litewitness" ] || [ ! -x "$CROSSCLEAR_LITEWITNESS_BIN/witnessctl" ]; then
    say "building litewitness and witnessctl $litewitness_version from the Go module proxy into $CROSSCLEAR_LITEWITNESS_BIN"
    mkdir -p "$CROSSCLEAR_LITEWITNESS_BIN"
    # go install pkg@version builds in the tool's own module, never ours.
    GOBIN="$CROSSCLEAR_LITEWITNESS_BIN" GOFLAGS=-mod=mod go install \
      "filippo.io/torchwood/cmd/litewitness@$litewitness_version" \
      "filippo.io/torchwood/cmd/witnessctl@$litewitness_version"
  fi
fi
if ! command -v ssh-agent >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
  say "installing ssh-agent and ssh-keygen (openssh-client) from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-client >/dev/null
fi
export CROSSCLEAR_LITEWITNESS_BIN
