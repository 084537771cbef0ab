#!/usr/bin/env bash
# Runs the in-process benchmark suite (Switchboard side by side with Mediator, MassTransit, Wolverine, raw channels
# and a direct call) and writes docs/benchmarks.md with its chart docs/benchmarks.png.
#
#   benchmarks/run.sh                     short job: the whole suite in a few minutes on 2 cores
#   benchmarks/run.sh --full              BenchmarkDotNet's default job: tighter error bars, much longer
#   benchmarks/run.sh --filter '*Mediator*'   any other argument goes to BenchmarkDotNet
#
# BenchmarkDotNet's own tables, CSV and JSON stay in BenchmarkDotNet.Artifacts/ (git-ignored).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command_line="benchmarks/run.sh${*:+ $*}"
artifacts="$root/BenchmarkDotNet.Artifacts"
bench_dir="benchmarks/Switchboard.Benchmarks"
report_dir="benchmarks/Switchboard.Benchmarks.Report"

has_filter=false
for arg in "$@"; do
  if [[ "$arg" == "--filter" || "$arg" == "-f" ]]; then has_filter=true; fi
done
bdn_args=("$@")
if [[ "$has_filter" == false ]]; then bdn_args+=(--filter '*'); fi

echo "== build (Release)"
dotnet build "$bench_dir" -c Release --nologo -v quiet
dotnet build "$report_dir" -c Release --nologo -v quiet

bench_dll="$bench_dir/bin/Release/net10.0/Switchboard.Benchmarks.dll"
report_dll="$report_dir/bin/Release/net10.0/Switchboard.Benchmarks.Report.dll"

echo "== smoke: every contender does the same work"
# A failure here is reported in docs/benchmarks.md rather than stopping the run: the numbers are still worth seeing.
smoke_log="$(mktemp)"
trap 'rm -f "$smoke_log"' EXIT
dotnet "$bench_dll" --smoke | tee "$smoke_log" || echo "warning: the smoke check failed; see docs/benchmarks.md"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain -- src benchmarks 2>/dev/null)" ]]; then commit="$commit with uncommitted changes in src/ or benchmarks/"; fi
load_before="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
echo "== benchmarks: ${bdn_args[*]}"
# Results of an earlier run must not leak into this report.
rm -rf "$artifacts/results"
dotnet "$bench_dll" --artifacts "$artifacts" "${bdn_args[@]}"

load_after="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
os="$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)"
os="${os:-$(uname -s)} ($(uname -r))"

echo "== report"
dotnet "$report_dll" \
  --results "$artifacts/results" \
  --markdown docs/benchmarks.md \
  --chart docs/benchmarks.png \
  --command "$command_line" \
  --cpu "${cpu:-unknown}" \
  --os "$os" \
  --commit "$commit" \
  --load "1-minute load average $load_before before the run, $load_after after it" \
  --smoke "$smoke_log"
