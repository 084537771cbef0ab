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

SERVERS=()
STATE_DIR="$PWD/.servers"

log() { printf 'servers: %s\n' "$*" >&2; }

fail() {
  log "$*"
  exit 1
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
