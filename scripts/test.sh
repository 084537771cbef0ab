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

scripts/servers.sh start || { echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }
trap 'scripts/servers.sh stop' EXIT
# The integration tests connect here (scripts/servers.sh starts Redis on this loopback port).
export SWITCHBOARD_REDIS="127.0.0.1:${SWITCHBOARD_REDIS_PORT:-6399}"
# scripts/servers.sh starts a RabbitMQ node on this loopback port; guest is allowed on loopback only.
export SWITCHBOARD_RABBITMQ="amqp://guest:guest@127.0.0.1:${SWITCHBOARD_RABBITMQ_PORT:-5679}/"
# scripts/servers.sh starts a throwaway PostgreSQL cluster on this loopback port (Npgsql connection string).
export SWITCHBOARD_POSTGRES="Host=127.0.0.1;Port=${SWITCHBOARD_POSTGRES_PORT:-5433};Username=switchboard;Password=switchboard;Database=switchboard"
# scripts/servers.sh starts librdkafka's mock cluster on a loopback port the OS picks and writes its bootstrap address here.
export SWITCHBOARD_KAFKA="$(cat .servers/kafka/bootstrap 2>/dev/null)" SWITCHBOARD_KAFKA_CONTROL="$PWD/.servers/kafka/control"

dotnet test Switchboard.slnx \
  --configuration Release \
  --logger "trx" \
  --logger "console;verbosity=minimal" \
  --results-directory "$results" \
  --blame-hang-timeout 5m
status=$?

# Sum the counters of every TRX file: a run that executed nothing shows as 0 passed.
summary=$(find "$results" -name '*.trx' -print0 | xargs -0 -r grep -ho '<Counters [^>]*>' | awk '
  function attr(name,   m) { if (match($0, name "=\"[0-9]+\"")) { m = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", m); return m + 0 } return 0 }
  { total += attr("total"); executed += attr("executed"); passed += attr("passed"); failed += attr("failed") + attr("error") + attr("timeout") + attr("aborted") }
  END { printf "%d %d %d", passed, failed, total - executed }')
read -r passed failed skipped <<<"${summary:-0 0 0}"

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or the test host failed before any test could fail: count it, so it is never read as green.
  failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "scripts/test.sh: no test ran" >&2
  status=1
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
