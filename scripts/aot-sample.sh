#!/usr/bin/env bash
# Publishes samples/Switchboard.Samples.Aot with Native AOT and runs it as a test: the orders scenario in process, with the
# SQLite outbox, and over Redis when SWITCHBOARD_REDIS is set. Exit code 0 only when it published with no trim/AOT
# warning and every check of the program held. Installs the AOT toolchain's Debian packages (clang, zlib1g-dev) when missing.
#
#   scripts/aot-sample.sh             publish and run
#   scripts/aot-sample.sh --compare   also run the same program on the JIT and print size, start-up and memory side by side
set -uo pipefail
cd "$(dirname "$0")/.."

out="$PWD/artifacts/aot-sample"
project="samples/Switchboard.Samples.Aot"

if ! command -v clang >/dev/null 2>&1 || ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
  echo "== installing the Native AOT toolchain (clang, zlib1g-dev)"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null && "${sudo_cmd[@]}" apt-get install -y -qq clang zlib1g-dev >/dev/null \
    || { echo "aot-sample: could not install clang and zlib1g-dev" >&2; exit 1; }
fi

echo "== dotnet publish $project (PublishAot)"
rm -rf "$out"
started=$(date +%s)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! dotnet publish "$project" -c Release -o "$out" --nologo -v quiet >"$log" 2>&1; then
  cat "$log" >&2
  echo "aot-sample: publish failed" >&2
  exit 1
fi
if grep -E "warning (IL|CS)" "$log" >&2; then
  echo "aot-sample: the publish reported trim or AOT warnings (above)" >&2
  exit 1
fi
echo "published in $(( $(date +%s) - started )) s; executable $(stat -c %s "$out/Switchboard.Samples.Aot") bytes"

# GNU time reports the peak memory; without it the program still runs (it prints its own timings).
timed() { if [ -x /usr/bin/time ]; then /usr/bin/time -f "wall %e s, max resident %M KiB" "$@"; else "$@"; fi; }

redis_args=()
if [ -n "${SWITCHBOARD_REDIS:-}" ]; then redis_args=(--redis "$SWITCHBOARD_REDIS"); fi

echo "== run (Native AOT)"
timed "$out/Switchboard.Samples.Aot" "${redis_args[@]}" || { echo "aot-sample: the AOT program failed" >&2; exit 1; }

if [[ "${1:-}" == "--compare" ]]; then
  echo "== run (JIT, the same program through the dotnet host)"
  dotnet build "$project" -c Release --nologo -v quiet >/dev/null
  jit_dir="$project/bin/Release/net10.0"
  echo "framework-dependent build: $(du -cb "$jit_dir"/*.dll | tail -1 | cut -f1) bytes of assemblies, plus the shared .NET runtime"
  timed dotnet "$jit_dir/Switchboard.Samples.Aot.dll" "${redis_args[@]}" || exit 1
fi
