#!/usr/bin/env bash
# Runs every test of the solution: starts the servers the tests need (scripts/servers.sh), runs `dotnet test` with TRX
# results, stops the servers, and ends with one line: `tests: N passed, N failed, N skipped`.
# Exit code: 0 only when the build succeeded, at least one test ran, and none failed.
set -uo pipefail
cd "$(dirname "$0")/.."

results="$PWD/TestResults"
rm -rf "$results"
mkdir -p "$results"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "scripts/test.sh: the .NET 10 SDK (dotnet) is required" >&2
  exit 1
fi

# This run's own servers: free loopback ports, a data folder and a RabbitMQ node name of its own, so that two runs on one
# machine (or a run next to servers started by hand) never stop each other's. A port or folder already set in the
# environment (SWITCHBOARD_REDIS_PORT=6399 ...) is used as it is.
chosen_ports=" "
pick_port() {
  local name="$1" port
  if [ -n "${!name:-}" ]; then
    chosen_ports+="${!name} "
    return 0
  fi
  for _ in $(seq 1 500); do
    port=$((20000 + RANDOM % 12000))
    # Free: not chosen for another server of this run, and nothing answers on it.
    if [[ "$chosen_ports" != *" $port "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      chosen_ports+="$port "
      export "$name=$port"
      return 0
    fi
  done
  echo "scripts/test.sh: no free loopback port for $name" >&2
  return 1
}
for port_variable in SWITCHBOARD_REDIS_PORT SWITCHBOARD_RABBITMQ_PORT SWITCHBOARD_RABBITMQ_DIST_PORT SWITCHBOARD_POSTGRES_PORT SWITCHBOARD_SQS_PORT; do
  pick_port "$port_variable" || { echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }
done
run_dir=""
if [ -z "${SWITCHBOARD_SERVERS_DIR:-}" ]; then
  run_dir="$PWD/.servers/run-$$"
  export SWITCHBOARD_SERVERS_DIR="$run_dir"
fi
export SWITCHBOARD_RABBITMQ_NODE="${SWITCHBOARD_RABBITMQ_NODE:-switchboard-$$@localhost}"

cleanup() {
  scripts/servers.sh stop
  # The run's folder goes after a green run; after a red one its server logs stay for a look.
  if [ -n "$run_dir" ] && [ "${run_green:-0}" -eq 1 ]; then
    rm -rf "$run_dir"
  fi
}
scripts/servers.sh start || { echo "tests: 0 passed, 1 failed, 0 skipped"; cleanup; exit 1; }
trap cleanup EXIT
# The integration tests connect here (scripts/servers.sh starts Redis on this loopback port).
export SWITCHBOARD_REDIS="127.0.0.1:$SWITCHBOARD_REDIS_PORT"
# scripts/servers.sh starts a RabbitMQ node on this loopback port; guest is allowed on loopback only.
export SWITCHBOARD_RABBITMQ="amqp://guest:guest@127.0.0.1:$SWITCHBOARD_RABBITMQ_PORT/"
# scripts/servers.sh starts a throwaway PostgreSQL cluster on this loopback port (Npgsql connection string).
export SWITCHBOARD_POSTGRES="Host=127.0.0.1;Port=$SWITCHBOARD_POSTGRES_PORT;Username=switchboard;Password=switchboard;Database=switchboard"

# scripts/servers.sh starts the fauxqs SQS emulator on this loopback port (dummy keys; nothing leaves the machine).
export SWITCHBOARD_SQS="http://127.0.0.1:$SWITCHBOARD_SQS_PORT"

# scripts/servers.sh installs Debian's chromium here; the dashboard's browser tests drive it through Playwright.
export SWITCHBOARD_CHROMIUM="${SWITCHBOARD_CHROMIUM:-/usr/bin/chromium}"
# scripts/servers.sh starts librdkafka's mock cluster on a loopback port the OS picks and writes its bootstrap address here.
kafka_dir="${SWITCHBOARD_SERVERS_DIR:-$PWD/.servers}/kafka"
export SWITCHBOARD_KAFKA="$(cat "$kafka_dir/bootstrap" 2>/dev/null)" SWITCHBOARD_KAFKA_CONTROL="$kafka_dir/control"

dotnet test Switchboard.slnx \
  --configuration Release \
  --logger "trx" \
  --logger "console;verbosity=minimal" \
  --results-directory "$results" \
  --blame-hang-timeout 5m
status=$?

# The packages as a user installs them: pack src/, build and run tests/PackageConsumer against them (one test).
scripts/package-test.sh
package_status=$?

# The Native AOT sample, published and run as one more test (issue 14): scripts/aot-sample.sh.
aot_passed=0
aot_failed=0
if scripts/aot-sample.sh; then aot_passed=1; else aot_failed=1; fi

# Sum the counters of every TRX file: a run that executed nothing shows as 0 passed.
summary=$(find "$results" -name '*.trx' -print0 | xargs -0 -r grep -ho '<Counters [^>]*>' | awk '
  function attr(name,   m) { if (match($0, name "=\"[0-9]+\"")) { m = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", m); return m + 0 } return 0 }
  { total += attr("total"); executed += attr("executed"); passed += attr("passed"); failed += attr("failed") + attr("error") + attr("timeout") + attr("aborted") }
  END { printf "%d %d %d", passed, failed, total - executed }')
read -r passed failed skipped <<<"${summary:-0 0 0}"
if [ "$package_status" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

passed=$((passed + aot_passed))
failed=$((failed + aot_failed))

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or the test host failed before any test could fail: count it, so it is never read as green.
  failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "scripts/test.sh: no test ran" >&2
  status=1
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && run_green=1
[ "${run_green:-0}" -eq 1 ]
