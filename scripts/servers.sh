#!/usr/bin/env bash
# Installs (from Debian packages) and starts, on loopback only, the servers the integration tests need; stops them again.
#   scripts/servers.sh start   install what is missing, start everything, wait until it answers
#   scripts/servers.sh stop    stop what start started
# Each server keeps its data under .servers/ in the repository (git-ignored) and listens on 127.0.0.1 only.
# In CI (CI=true) a server that cannot be installed or started is a failure, never a skip.
#
# The in-process core needs no server. The transport and outbox issues add their servers here, one function each
# (start_redis / stop_redis, ...), listed in SERVERS below.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVERS=(redis rabbitmq)
STATE_DIR="$PWD/.servers"

# Redis: a fixed, non-default loopback port, so a Redis the developer already runs on 6379 is never touched.
# The tests read SWITCHBOARD_REDIS (scripts/test.sh exports it); without it they fail with a clear message.
REDIS_PORT="${SWITCHBOARD_REDIS_PORT:-6399}"
REDIS_DIR="$STATE_DIR/redis"
# RabbitMQ: its own node (not the Debian service), on a non-default loopback port, with its data under .servers/rabbitmq.
# The tests read SWITCHBOARD_RABBITMQ (an amqp:// URL with the default guest user, which RabbitMQ allows on loopback only).
RABBITMQ_PORT="${SWITCHBOARD_RABBITMQ_PORT:-5679}"
RABBITMQ_DIST_PORT_NUMBER="${SWITCHBOARD_RABBITMQ_DIST_PORT:-25679}"
RABBITMQ_NODE="switchboard@localhost"
RABBITMQ_DIR="$STATE_DIR/rabbitmq"
# The scripts in /usr/lib/rabbitmq/bin run as the calling user; the /usr/sbin wrappers would switch to the rabbitmq user.
RABBITMQ_BIN="/usr/lib/rabbitmq/bin"
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

cmd="${1:-start}"
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
    fail "usage: scripts/servers.sh start|stop"
    ;;
esac
