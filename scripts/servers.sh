#!/usr/bin/env bash
# Installs (from Debian packages) and starts, on loopback only, the servers the integration tests need; stops them again.
#   scripts/servers.sh start   install what is missing, start everything, wait until it answers
#   scripts/servers.sh stop    stop what start started
#   scripts/servers.sh start redis postgres   only the named servers (the same for stop)
# Each server keeps its data under .servers/ in the repository (git-ignored) and listens on 127.0.0.1 only. The ports,
# the data folder (SWITCHBOARD_SERVERS_DIR) and the RabbitMQ node name (SWITCHBOARD_RABBITMQ_NODE) can be set through the
# environment: scripts/test.sh gives each run its own, so that two runs never stop each other's servers.
# (PostgreSQL runs as an unprivileged user when this runs as root: if that user cannot reach the repository, its
# throwaway cluster lives in /tmp/switchboard-pg-<port> instead.)
# In CI (CI=true) a server that cannot be installed or started is a failure, never a skip.
#
# The in-process core needs no server. The transport and outbox issues add their servers here, one function each
# (start_redis / stop_redis, ...), listed in SERVERS below.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVERS=(redis rabbitmq postgres sqs chromium kafka)
STATE_DIR="${SWITCHBOARD_SERVERS_DIR:-$PWD/.servers}"

# Redis: a fixed, non-default loopback port, so a Redis the developer already runs on 6379 is never touched.
# The tests read SWITCHBOARD_REDIS (scripts/test.sh exports it); without it they fail with a clear message.
REDIS_PORT="${SWITCHBOARD_REDIS_PORT:-6399}"
REDIS_DIR="$STATE_DIR/redis"
# RabbitMQ: its own node (not the Debian service), on a non-default loopback port, with its data under .servers/rabbitmq.
# The tests read SWITCHBOARD_RABBITMQ (an amqp:// URL with the default guest user, which RabbitMQ allows on loopback only).
RABBITMQ_PORT="${SWITCHBOARD_RABBITMQ_PORT:-5679}"
RABBITMQ_DIST_PORT_NUMBER="${SWITCHBOARD_RABBITMQ_DIST_PORT:-25679}"
RABBITMQ_NODE="${SWITCHBOARD_RABBITMQ_NODE:-switchboard@localhost}"
RABBITMQ_DIR="$STATE_DIR/rabbitmq"
# The scripts in /usr/lib/rabbitmq/bin run as the calling user; the /usr/sbin wrappers would switch to the rabbitmq user.
RABBITMQ_BIN="/usr/lib/rabbitmq/bin"
# PostgreSQL: a throwaway cluster (initdb afresh on every start, deleted on stop) on a non-default loopback port, so the
# Debian cluster (5432) is never touched. The tests read SWITCHBOARD_POSTGRES (an Npgsql connection string, scripts/test.sh
# exports it) and connect over TCP with a password; the superuser switchboard owns the database switchboard.
POSTGRES_PORT="${SWITCHBOARD_POSTGRES_PORT:-5433}"
POSTGRES_USER="switchboard"
POSTGRES_PASSWORD="switchboard"
POSTGRES_DB="switchboard"
# Amazon SQS: the fauxqs emulator (npm; its 1.x line runs on Node.js 20), in memory, on a loopback port; installed into
# .servers/npm (shared by runs; pid and log in the run's folder). local-aws-sqs was tried first and left: its
# ChangeMessageVisibility counts as a receive and its empty receives are not JSON. The tests read SWITCHBOARD_SQS (its URL; scripts/test.sh exports it) and sign with dummy keys.
SQS_PORT="${SWITCHBOARD_SQS_PORT:-9480}"
SQS_DIR="$STATE_DIR/sqs"
SQS_NPM_DIR="$PWD/.servers/npm"
SQS_EMULATOR_VERSION="1.9.2"
# Kafka: librdkafka's mock cluster (no Apache Kafka can be installed here: no Debian package, no JVM artifacts), hosted by
# tests/Switchboard.KafkaMockBroker in a process of its own on 127.0.0.1, on a port the OS picks. The bootstrap address is
# written to $KAFKA_DIR/bootstrap; scripts/test.sh exports it as SWITCHBOARD_KAFKA, and the control directory (where tests
# ask for topics with a given partition count: the mock has no CreateTopics API) as SWITCHBOARD_KAFKA_CONTROL. What the mock does and does not do is
# in docs/transports/kafka.md.
KAFKA_DIR="$STATE_DIR/kafka"
APT_UPDATED=0

log() { printf 'servers: %s\n' "$*" >&2; }

fail() {
  log "$*"
  exit 1
}

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "cannot install $* (needs root and apt-get): install it by hand"
    return 1
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

start_redis() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    log "installing redis-server"
    apt_install redis-server || return 1
  fi
  mkdir -p "$REDIS_DIR"
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    # Left over from an earlier run that was killed: stop it, so every run starts from a server this script owns.
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    sleep 0.5
  fi
  # Persistence on (append-only file, fsync every second): the transport is tested the way it is deployed.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
    --dir "$REDIS_DIR" --appendonly yes --appendfsync everysec --save "" \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" || return 1
  for _ in $(seq 1 100); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; then
      log "redis listening on 127.0.0.1:$REDIS_PORT (data in $REDIS_DIR)"
      return 0
    fi
    sleep 0.1
  done
  log "redis did not answer PING on 127.0.0.1:$REDIS_PORT; see $REDIS_DIR/redis.log"
  return 1
}

stop_redis() {
  if [ -f "$REDIS_DIR/redis.pid" ]; then
    local pid
    pid=$(cat "$REDIS_DIR/redis.pid")
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$REDIS_DIR/redis.pid"
  fi
}

rabbitmq_env() {
  export RABBITMQ_NODENAME="$RABBITMQ_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT_NUMBER"
  export RABBITMQ_MNESIA_BASE="$RABBITMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RABBITMQ_DIR/log"
  export RABBITMQ_PID_FILE="$RABBITMQ_DIR/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$RABBITMQ_DIR/rabbitmq"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RABBITMQ_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBITMQ_DIR/enabled_plugins"
  # Erlang distribution (rabbitmqctl talks to the node through it) on loopback only.
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
  if [ ! -x "$RABBITMQ_BIN/rabbitmq-server" ]; then
    log "installing rabbitmq-server (the package's own service may be refused by policy-rc.d: this script starts its own node)"
    apt_install rabbitmq-server || true
    [ -x "$RABBITMQ_BIN/rabbitmq-server" ] || return 1
  fi
  mkdir -p "$RABBITMQ_DIR/log" "$RABBITMQ_DIR/mnesia"
  rabbitmq_env
  if "$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODE" -q status >/dev/null 2>&1; then
    # Left over from an earlier run that was killed: stop it, so every run starts from a node this script owns.
    "$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODE" -q stop >/dev/null 2>&1 || true
  fi
  cat >"$RABBITMQ_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
loopback_users.guest = true
management_agent.disable_metrics_collector = true
CONF
  echo '[].' >"$RABBITMQ_DIR/enabled_plugins"
  echo '[].' >"$RABBITMQ_DIR/advanced.config"
  nohup "$RABBITMQ_BIN/rabbitmq-server" >"$RABBITMQ_DIR/log/console.log" 2>&1 &
  echo $! >"$RABBITMQ_DIR/server.pid"
  # await_startup fails at once while the node has not registered yet: ask again until it answers (about 15 s).
  for _ in $(seq 1 60); do
    if "$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODE" -q await_startup --timeout 30 >/dev/null 2>&1; then
      log "rabbitmq listening on 127.0.0.1:$RABBITMQ_PORT (node $RABBITMQ_NODE, data in $RABBITMQ_DIR)"
      return 0
    fi
    kill -0 "$(cat "$RABBITMQ_DIR/server.pid")" 2>/dev/null || break
    sleep 1
  done
  log "rabbitmq did not start on 127.0.0.1:$RABBITMQ_PORT; see $RABBITMQ_DIR/log"
  tail -n 20 "$RABBITMQ_DIR/log/console.log" >&2 || true
  return 1
}

stop_rabbitmq() {
  rabbitmq_env
  if [ -f "$RABBITMQ_DIR/server.pid" ]; then
    local pid
    pid=$(cat "$RABBITMQ_DIR/server.pid")
    "$RABBITMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODE" -q stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$RABBITMQ_DIR/server.pid"
  fi
}

# The newest /usr/lib/postgresql/<version>/bin that holds the server (the client packages alone ship psql there too).
postgres_bin() {
  local dir found=""
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      found="$dir"
    fi
  done
  [ -n "$found" ] || return 1
  echo "$found"
}

# initdb and postgres refuse to run as root: as root (CI, containers) they run as the postgres user of the Debian package,
# or as a system user switchboard-pg created here when that is missing. As anyone else, as the calling user.
postgres_os_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    if ! id switchboard-pg >/dev/null 2>&1; then
      useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin switchboard-pg >&2 \
        || return 1
    fi
    echo switchboard-pg
  fi
}

# Runs a command as the cluster's user, from / (its working directory need not be readable by that user).
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$POSTGRES_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# The cluster lives in .servers/postgres, unless the cluster's user cannot reach the repository (a parent directory that
# is not traversable, when root runs this for another user): then in /tmp/switchboard-pg-<port>. Start and stop agree.
postgres_dir() {
  if as_postgres test -x "$STATE_DIR" 2>/dev/null; then
    echo "$STATE_DIR/postgres"
  else
    echo "/tmp/switchboard-pg-$POSTGRES_PORT"
  fi
}

postgres_env() {
  POSTGRES_BIN=$(postgres_bin) || return 1
  POSTGRES_OS_USER=$(postgres_os_user) || { log "no user to run postgres as (useradd switchboard-pg failed)"; return 1; }
  POSTGRES_DIR=$(postgres_dir)
  POSTGRES_DATA="$POSTGRES_DIR/data"
  POSTGRES_LOG="$POSTGRES_DIR/postgres.log"
}

# Some server answers on the port (pg_isready: 0 accepting, 1 rejecting, e.g. starting up; 2 nothing there).
postgres_answers() {
  local status=0
  "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -t 2 >/dev/null 2>&1 || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 1 ]
}

start_postgres() {
  if ! postgres_bin >/dev/null; then
    log "installing postgresql (the package's own cluster on 5432 is left alone: this script runs its own cluster)"
    apt_install postgresql || true
    postgres_bin >/dev/null || { log "no PostgreSQL server (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin"; return 1; }
  fi
  postgres_env || return 1
  if [ -f "$POSTGRES_DATA/postmaster.pid" ]; then
    # Left over from an earlier run that was killed: stop it, so every run starts from a cluster this script owns.
    as_postgres "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  if postgres_answers; then
    log "another server answers on 127.0.0.1:$POSTGRES_PORT (not started by this script): stop it, or set SWITCHBOARD_POSTGRES_PORT"
    return 1
  fi
  rm -rf "$POSTGRES_DIR"
  mkdir -p "$POSTGRES_DIR"
  chmod 700 "$POSTGRES_DIR"
  [ "$(id -u)" -ne 0 ] || chown "$POSTGRES_OS_USER:" "$POSTGRES_DIR"
  if [ "$POSTGRES_DIR" != "$STATE_DIR/postgres" ]; then
    log "$POSTGRES_OS_USER cannot reach $STATE_DIR: the cluster lives in $POSTGRES_DIR"
  fi
  # The password goes in through a file, never on a command line; trust only on the Unix socket, which lives in a
  # directory only the cluster's user (and root) can enter.
  printf '%s\n' "$POSTGRES_PASSWORD" >"$POSTGRES_DIR/pwfile"
  [ "$(id -u)" -ne 0 ] || chown "$POSTGRES_OS_USER:" "$POSTGRES_DIR/pwfile"
  if ! as_postgres "$POSTGRES_BIN/initdb" -D "$POSTGRES_DATA" -U "$POSTGRES_USER" --pwfile="$POSTGRES_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$POSTGRES_DIR/initdb.log" 2>&1; then
    rm -f "$POSTGRES_DIR/pwfile"
    log "initdb failed; see $POSTGRES_DIR/initdb.log"
    tail -n 20 "$POSTGRES_DIR/initdb.log" >&2 || true
    return 1
  fi
  rm -f "$POSTGRES_DIR/pwfile"
  # The socket path is limited to 107 bytes: with a deep repository path the cluster listens on TCP only.
  local sockets="$POSTGRES_DIR"
  if [ $((${#POSTGRES_DIR} + 20)) -gt 107 ]; then
    sockets=""
  fi
  # fsync stays on: the outbox is tested against real durability.
  cat >>"$POSTGRES_DATA/postgresql.conf" <<CONF

# scripts/servers.sh
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$sockets'
max_connections = 200
CONF
  if ! as_postgres "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -l "$POSTGRES_LOG" -w -t 60 start >/dev/null 2>&1; then
    log "postgres did not start on 127.0.0.1:$POSTGRES_PORT; see $POSTGRES_LOG"
    tail -n 20 "$POSTGRES_LOG" >&2 || true
    return 1
  fi
  for _ in $(seq 1 100); do
    if "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -t 2 >/dev/null 2>&1; then
      if PGPASSWORD="$POSTGRES_PASSWORD" "$POSTGRES_BIN/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" \
        -O "$POSTGRES_USER" "$POSTGRES_DB" >&2; then
        log "postgres listening on 127.0.0.1:$POSTGRES_PORT (user $POSTGRES_USER, database $POSTGRES_DB, data in $POSTGRES_DATA)"
        return 0
      fi
      break
    fi
    sleep 0.2
  done
  log "postgres did not answer on 127.0.0.1:$POSTGRES_PORT (or createdb $POSTGRES_DB failed); see $POSTGRES_LOG"
  tail -n 20 "$POSTGRES_LOG" >&2 || true
  return 1
}

stop_postgres() {
  postgres_bin >/dev/null || return 0
  postgres_env || return 1
  if [ -f "$POSTGRES_DATA/postmaster.pid" ]; then
    as_postgres "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_postgres "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # Throwaway: the cluster goes; the server log stays for a look after a failed run.
  rm -rf "$POSTGRES_DATA"
}

sqs_answers() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$SQS_PORT/" -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: AmazonSQS.ListQueues" -d '{}' 2>/dev/null
}

start_sqs() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing nodejs and npm"
    apt_install nodejs npm || return 1
  fi
  if ! command -v curl >/dev/null 2>&1; then
    apt_install curl || return 1
  fi
  mkdir -p "$SQS_DIR"
  mkdir -p "$SQS_NPM_DIR"
  if [ ! -f "$SQS_NPM_DIR/node_modules/fauxqs/package.json" ] \
    || ! grep -q "\"version\": \"$SQS_EMULATOR_VERSION\"" "$SQS_NPM_DIR/node_modules/fauxqs/package.json"; then
    log "installing fauxqs $SQS_EMULATOR_VERSION from npm"
    npm install --prefix "$SQS_NPM_DIR" --no-save --no-audit --no-fund "fauxqs@$SQS_EMULATOR_VERSION" >&2 || return 1
  fi
  stop_sqs
  # The fault tests start their own emulator from the same install and launcher (tests/.../AmazonSqs/SqsChildProcess.cs).
  # fauxqs 1.x listens on 0.0.0.0 whatever FAUXQS_HOST says: scripts/fauxqs-loopback.mjs binds it to 127.0.0.1 (and,
  # unlike fauxqs's cli.js, honours FAUXQS_LOGGER=false: no log line per request).
  FAUXQS_PORT="$SQS_PORT" FAUXQS_HOST=127.0.0.1 FAUXQS_LOGGER=false \
    nohup node "$PWD/scripts/fauxqs-loopback.mjs" "$SQS_NPM_DIR/node_modules/fauxqs/dist/app.js" >"$SQS_DIR/sqs.log" 2>&1 &
  echo $! >"$SQS_DIR/sqs.pid"
  for _ in $(seq 1 100); do
    if sqs_answers; then
      log "sqs emulator listening on 127.0.0.1:$SQS_PORT (in memory)"
      return 0
    fi
    sleep 0.1
  done
  log "sqs emulator did not answer on 127.0.0.1:$SQS_PORT (log: $SQS_DIR/sqs.log)"
  return 1
}

stop_sqs() {
  if [ -f "$SQS_DIR/sqs.pid" ]; then
    kill "$(cat "$SQS_DIR/sqs.pid")" >/dev/null 2>&1 || true
    rm -f "$SQS_DIR/sqs.pid"
    sleep 0.2
  fi
}

# chromium: not a server, the headless browser the dashboard's browser tests drive (Debian's package, through Playwright
# with its executable path; Playwright's own browser download is not reachable). Installed if missing; nothing to stop.
CHROMIUM_BIN="${SWITCHBOARD_CHROMIUM:-/usr/bin/chromium}"

start_chromium() {
  if [ ! -x "$CHROMIUM_BIN" ]; then
    log "installing chromium"
    apt_install chromium || return 1
  fi
  "$CHROMIUM_BIN" --headless --no-sandbox --version >/dev/null 2>&1 || { log "$CHROMIUM_BIN does not run"; return 1; }
  log "chromium ready at $CHROMIUM_BIN"
}

stop_chromium() { :; }

start_kafka() {
  command -v dotnet >/dev/null 2>&1 || { log "the Kafka mock broker needs the .NET SDK (dotnet)"; return 1; }
  mkdir -p "$KAFKA_DIR"
  stop_kafka # left over from an earlier run that was killed: every run starts from a broker this script owns
  rm -f "$KAFKA_DIR/bootstrap"
  if ! dotnet build tests/Switchboard.KafkaMockBroker/Switchboard.KafkaMockBroker.csproj -c Release -o "$KAFKA_DIR/bin" \
    -v quiet -nologo >"$KAFKA_DIR/build.log" 2>&1; then
    log "building the Kafka mock broker failed; see $KAFKA_DIR/build.log"
    tail -n 20 "$KAFKA_DIR/build.log" >&2 || true
    return 1
  fi
  nohup dotnet "$KAFKA_DIR/bin/Switchboard.KafkaMockBroker.dll" --bootstrap-file "$KAFKA_DIR/bootstrap" \
    --control-dir "$KAFKA_DIR/control" >"$KAFKA_DIR/broker.log" 2>&1 &
  echo $! >"$KAFKA_DIR/broker.pid"
  for _ in $(seq 1 100); do
    if [ -s "$KAFKA_DIR/bootstrap" ]; then
      log "kafka (librdkafka mock cluster) listening on $(cat "$KAFKA_DIR/bootstrap")"
      return 0
    fi
    kill -0 "$(cat "$KAFKA_DIR/broker.pid")" 2>/dev/null || break
    sleep 0.1
  done
  log "the Kafka mock broker did not start; see $KAFKA_DIR/broker.log"
  tail -n 20 "$KAFKA_DIR/broker.log" >&2 || true
  return 1
}

stop_kafka() {
  if [ -f "$KAFKA_DIR/broker.pid" ]; then
    local pid
    pid=$(cat "$KAFKA_DIR/broker.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$KAFKA_DIR/broker.pid" "$KAFKA_DIR/bootstrap"
  fi
}

cmd="${1:-start}"
# Optional server names after the command start or stop only those (e.g. `scripts/servers.sh start redis`).
if [ $# -gt 1 ]; then
  SERVERS=("${@:2}")
fi
case "$cmd" in
  start)
    mkdir -p "$STATE_DIR"
    if [ ${#SERVERS[@]} -eq 0 ]; then
      log "no servers needed"
    fi
    for server in "${SERVERS[@]}"; do
      "start_$server" || fail "could not start $server"
    done
    ;;
  stop)
    for server in "${SERVERS[@]}"; do
      "stop_$server" || log "stopping $server failed"
    done
    ;;
  *)
    fail "usage: scripts/servers.sh start|stop [server...]"
    ;;
esac
