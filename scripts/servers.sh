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

SERVERS=(redis)
STATE_DIR="$PWD/.servers"

# Redis: a fixed, non-default loopback port, so a Redis the developer already runs on 6379 is never touched.
# The tests read SWITCHBOARD_REDIS (scripts/test.sh exports it); without it they fail with a clear message.
REDIS_PORT="${SWITCHBOARD_REDIS_PORT:-6399}"
REDIS_DIR="$STATE_DIR/redis"
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
