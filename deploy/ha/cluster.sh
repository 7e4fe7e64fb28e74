#!/usr/bin/env bash
# A whole crossclear database cluster on one machine, for tests and for
# trying the HA walk (docs/ha.md): three PostgreSQL 15 members under
# Patroni with synchronous replication, a three-member etcd on loopback
# ports, and haproxy giving one address for the primary and one for the
# replicas. Everything lives under one folder ($HA_DIR).
#
#   cluster.sh up            start what is not running (installs the Debian packages
#                            patroni, etcd-server and haproxy when missing) and wait
#                            until the primary takes writes with a synchronous standby
#   cluster.sh down          stop everything and delete $HA_DIR
#   cluster.sh status        members, roles, lag; etcd health; the addresses
#   cluster.sh kill-primary  SIGKILL the primary's Patroni and PostgreSQL (a lost
#                            machine); `up` brings the member back as a replica
#   cluster.sh primary       the name of the current primary (empty when none)
#   cluster.sh env           the addresses as shell variables, for scripts
#
# Ports are $HA_PORT_BASE (15440) + offsets, clear of the machine's own
# PostgreSQL on 5432: primary +0, replicas +1, crossclear API +2, haproxy
# stats +3, PostgreSQL members +11..13, Patroni REST +21..23, etcd clients
# +31..33 and peers +41..43, crossclear nodes +51..53 (their regulator
# gateways +61..63).
#
# PostgreSQL refuses to run as root: when run as root, every process runs
# as $HA_USER (postgres, created when missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
DIR=${HA_DIR:-/tmp/crossclear-ha}
BASE=${HA_PORT_BASE:-15440}
BIN_DIR=${HA_PG_BIN:-/usr/lib/postgresql/15/bin}
MEMBERS=(pg1 pg2 pg3)

PRIMARY_PORT=$BASE
REPLICA_PORT=$((BASE + 1))
API_PORT=$((BASE + 2))
STATS_PORT=$((BASE + 3))
pg_port() { echo $((BASE + 11 + $1)); }
rest_port() { echo $((BASE + 21 + $1)); }
etcd_client_port() { echo $((BASE + 31 + $1)); }
etcd_peer_port() { echo $((BASE + 41 + $1)); }
node_port() { echo $((BASE + 51 + $1)); }

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  RUN_USER=${HA_USER:-postgres}
  # setpriv execs (runuser would stay as a parent), so that the pid
  # recorded is the process's own and SIGKILL reaches it.
  AS_USER=(setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups env HOME="$DIR")
else
  RUN_USER=$(id -un)
  AS_USER=()
fi

install_packages() {
  local missing=()
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  [ -x "$BIN_DIR/postgres" ] || missing+=(postgresql-15)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run as root to install them, or install them"
  say "installing ${missing[*]} from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d 101: the packages' own services must not start (etcd and
  # haproxy on their default ports); this script runs its own.
  local policy=/usr/sbin/policy-rc.d restore=""
  if [ -e "$policy" ]; then restore=$(mktemp); cp "$policy" "$restore"; fi
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || { [ -n "$restore" ] && mv "$restore" "$policy" || rm -f "$policy"; die "apt-get install ${missing[*]} failed"; }
  if [ -n "$restore" ]; then mv "$restore" "$policy"; else rm -f "$policy"; fi
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$RUN_USER" >/dev/null 2>&1 || useradd --system --home-dir "$DIR" --shell /usr/sbin/nologin "$RUN_USER"
}

# fill TEMPLATE OUT KEY=VALUE…: replaces @KEY@ by VALUE.
fill() {
  local in=$1 out=$2; shift 2
  local text
  text=$(<"$in")
  for kv in "$@"; do
    text=${text//@${kv%%=*}@/${kv#*=}}
  done
  printf '%s\n' "$text" >"$out"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# start NAME PIDFILE LOG CMD…: runs CMD detached as the run user, in
# $DIR: the caller's folder may be closed to that user (a checkout in a
# mktemp -d folder is 0700), and Patroni's Python and initdb chdir back to
# where they were started.
start() {
  local name=$1 pidfile=$2 log=$3; shift 3
  if running "$pidfile"; then return; fi
  (cd "$DIR" && exec setsid "${AS_USER[@]}" "$@" >>"$log" 2>&1 </dev/null) &
  echo $! >"$pidfile"
  say "started $name (pid $!)"
}

configure() {
  mkdir -p "$DIR"/{etcd,data,log,run,conf}
  local hosts="" initial="" i
  for i in 0 1 2; do
    hosts+="${hosts:+,}127.0.0.1:$(etcd_client_port $i)"
    initial+="${initial:+,}etcd$((i + 1))=http://127.0.0.1:$(etcd_peer_port $i)"
  done
  for i in 0 1 2; do
    fill "$here/etcd.yml.in" "$DIR/conf/etcd$((i + 1)).yml" NAME="etcd$((i + 1))" DIR="$DIR" \
      CLIENT_PORT="$(etcd_client_port $i)" PEER_PORT="$(etcd_peer_port $i)" INITIAL_CLUSTER="$initial"
    fill "$here/patroni.yml.in" "$DIR/conf/${MEMBERS[$i]}.yml" NAME="${MEMBERS[$i]}" DIR="$DIR" BIN_DIR="$BIN_DIR" \
      REST_PORT="$(rest_port $i)" PG_PORT="$(pg_port $i)" ETCD_HOSTS="$hosts"
    mkdir -p "$DIR/log/${MEMBERS[$i]}"
  done
  local primary="" replica="" api=""
  for i in 0 1 2; do
    primary+="    server ${MEMBERS[$i]} 127.0.0.1:$(pg_port $i) check port $(rest_port $i)"$'\n'
    replica+="    server ${MEMBERS[$i]} 127.0.0.1:$(pg_port $i) check port $(rest_port $i)"$'\n'
    api+="    server node$((i + 1)) 127.0.0.1:$(node_port $i) check"$'\n'
  done
  fill "$here/haproxy.cfg.in" "$DIR/conf/haproxy.cfg" DIR="$DIR" PRIMARY_PORT="$PRIMARY_PORT" REPLICA_PORT="$REPLICA_PORT" \
    API_PORT="$API_PORT" STATS_PORT="$STATS_PORT" PRIMARY_SERVERS="${primary%$'\n'}" REPLICA_SERVERS="${replica%$'\n'}" API_SERVERS="${api%$'\n'}"
  cat >"$DIR/post-bootstrap.sh" <<EOF
#!/bin/sh
# Patroni runs this once on the first primary, with a connection URL.
exec "$BIN_DIR/psql" "\$1" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE crossclear"
EOF
  chmod 755 "$DIR/post-bootstrap.sh"
  [ -x "$BIN_DIR/psql" ] || sed -i "s|$BIN_DIR/psql|psql|" "$DIR/post-bootstrap.sh"
  chmod 700 "$DIR/data"
  chown -R "$RUN_USER" "$DIR"
}

etcd_healthy() {
  local i
  for i in 0 1 2; do
    curl -sf --max-time 1 "http://127.0.0.1:$(etcd_client_port $i)/health" | grep -q '"health":"true"' || return 1
  done
}

wait_for() { # wait_for SECONDS WHAT CMD…
  local secs=$1 what=$2; shift 2
  local until=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || die "$what: not within ${secs}s (logs in $DIR/log)"
    sleep 0.3
  done
}

# cluster_json is Patroni's view of the cluster, from any member that answers.
cluster_json() {
  local i
  for i in 0 1 2; do
    curl -sf --max-time 1 "http://127.0.0.1:$(rest_port $i)/cluster" && return 0
  done
  return 1
}

# primary_name prints the member whose Patroni says it is the running primary.
primary_name() {
  local i
  for i in 0 1 2; do
    if curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$(rest_port $i)/primary"; then
      echo "${MEMBERS[$i]}"
      return 0
    fi
  done
  return 1
}

# writable: the primary address takes a write that a synchronous standby
# acknowledged (strict synchronous mode blocks commits until one streams).
writable() {
  PGCONNECT_TIMEOUT=2 "$BIN_DIR/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d crossclear -qAtc \
    "SET statement_timeout = '2s'; CREATE TABLE IF NOT EXISTS ha_probe(x int); INSERT INTO ha_probe VALUES (1); DELETE FROM ha_probe"
}

all_members_streaming() {
  cluster_json | python3 -c '
import json, sys
m = json.load(sys.stdin)["members"]
ok = [x for x in m if x["state"] in ("running", "streaming")]
sys.exit(0 if len(ok) == 3 and any(x["role"] == "sync_standby" for x in m) else 1)'
}

up() {
  install_packages
  ensure_user
  configure
  local i
  for i in 0 1 2; do
    start "etcd$((i + 1))" "$DIR/run/etcd$((i + 1)).pid" "$DIR/log/etcd$((i + 1)).log" \
      etcd --config-file "$DIR/conf/etcd$((i + 1)).yml"
  done
  wait_for 30 "etcd cluster healthy" etcd_healthy
  for i in 0 1 2; do
    start "${MEMBERS[$i]}" "$DIR/run/${MEMBERS[$i]}.patroni.pid" "$DIR/log/${MEMBERS[$i]}.log" \
      patroni "$DIR/conf/${MEMBERS[$i]}.yml"
    # The first member bootstraps alone, so that the others clone it
    # rather than race for the initialize key.
    [ "$i" = 0 ] && [ ! -d "$DIR/data/${MEMBERS[0]}/base" ] && wait_for 90 "${MEMBERS[0]} bootstrapped" primary_name
  done
  start haproxy "$DIR/run/haproxy.wrapper.pid" "$DIR/log/haproxy.log" haproxy -db -f "$DIR/conf/haproxy.cfg"
  wait_for 120 "a primary with a synchronous standby taking writes at 127.0.0.1:$PRIMARY_PORT" writable
  wait_for 120 "three members streaming" all_members_streaming
  say "up: primary $(primary_name) at 127.0.0.1:$PRIMARY_PORT"
  print_env
}

print_env() {
  cat <<EOF
HA_DIR=$DIR
HA_DATABASE_URL=postgres://postgres@127.0.0.1:$PRIMARY_PORT/crossclear?sslmode=disable
HA_REPLICA_URL=postgres://postgres@127.0.0.1:$REPLICA_PORT/crossclear?sslmode=disable
HA_API=http://127.0.0.1:$API_PORT
HA_NODE_LISTEN="127.0.0.1:$(node_port 0) 127.0.0.1:$(node_port 1) 127.0.0.1:$(node_port 2)"
HA_NODE_REGULATOR_LISTEN="127.0.0.1:$((BASE + 61)) 127.0.0.1:$((BASE + 62)) 127.0.0.1:$((BASE + 63))"
EOF
}

stop_pidfile() { # stop_pidfile FILE SIGNAL
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill "-$2" "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

postmaster_pid() { # postmaster_pid MEMBER
  local f="$DIR/data/$1/postmaster.pid"
  [ -f "$f" ] && head -n 1 "$f"
}

down() {
  [ -d "$DIR" ] || { say "nothing under $DIR"; return; }
  stop_pidfile "$DIR/run/haproxy.wrapper.pid" TERM
  local m pid
  for m in "${MEMBERS[@]}"; do
    stop_pidfile "$DIR/run/$m.patroni.pid" TERM
    # A member whose Patroni was killed leaves its PostgreSQL running.
    pid=$(postmaster_pid "$m" || true)
    [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null || true
  done
  for f in "$DIR"/run/etcd*.pid; do [ -e "$f" ] && stop_pidfile "$f" TERM; done
  rm -rf "$DIR"
  say "down: $DIR removed"
}

kill_primary() {
  local m
  m=$(primary_name) || die "no primary to kill"
  local patroni pg
  patroni=$(cat "$DIR/run/$m.patroni.pid")
  pg=$(postmaster_pid "$m")
  # The machine is lost: its Patroni stops renewing the leader key and
  # PostgreSQL dies at once (its backends exit with the postmaster).
  kill -KILL "$patroni" "$pg" 2>/dev/null || true
  rm -f "$DIR/run/$m.patroni.pid"
  say "killed $m (Patroni $patroni, PostgreSQL $pg) at $(date -u +%H:%M:%S.%N | cut -c1-12)"
  echo "$m"
}

status() {
  [ -d "$DIR/conf" ] || die "not up ($DIR/conf missing)"
  patronictl -c "$DIR/conf/${MEMBERS[0]}.yml" list 2>/dev/null || say "patronictl cannot reach etcd"
  local i
  for i in 0 1 2; do
    printf 'etcd%d 127.0.0.1:%d %s\n' $((i + 1)) "$(etcd_client_port $i)" "$(curl -s --max-time 1 "http://127.0.0.1:$(etcd_client_port $i)/health" || echo down)"
  done
  local p
  p=$(primary_name || true)
  say "primary: ${p:-none}"
  print_env
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  kill-primary) kill_primary ;;
  primary) primary_name || true ;;
  env) print_env ;;
  *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
