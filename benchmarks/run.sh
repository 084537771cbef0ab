#!/usr/bin/env bash
# Runs the in-process benchmark suite (Switchboard side by side with Mediator, MassTransit, Wolverine, raw channels
# and a direct call) and writes docs/benchmarks.md with its chart docs/benchmarks.png.
#
#   benchmarks/run.sh                     short job: every benchmark in 3 processes (about 20 minutes on 2 cores)
#   benchmarks/run.sh --full              BenchmarkDotNet's default job: tighter error bars, much longer
#   benchmarks/run.sh --in-process        no generated project per benchmark (for a loaded machine, where BenchmarkDotNet's
#                                         build can time out): the suite runs in this many separate processes instead
#                                         (SWITCHBOARD_BENCH_PROCESSES, default 3), one after the other
#   benchmarks/run.sh --filter '*Mediator*'   any other argument goes to BenchmarkDotNet
#   benchmarks/run.sh --no-docs ...       measure and print the targets, but leave docs/benchmarks.md and its chart alone
#
# The page shows each row's mean, the lowest and highest mean of its processes, and checks ratio targets per pair of
# processes (docs/benchmarks.md, "Targets").
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
in_process=false
write_docs=true
bdn_args=()
for arg in "$@"; do
  if [[ "$arg" == "--filter" || "$arg" == "-f" ]]; then has_filter=true; fi
  if [[ "$arg" == "--in-process" ]]; then in_process=true; fi
  if [[ "$arg" == "--no-docs" ]]; then write_docs=false; continue; fi
  bdn_args+=("$arg")
done
if [[ "$has_filter" == false ]]; then bdn_args+=(--filter '*'); fi
processes=1
if [[ "$in_process" == true ]]; then processes="${SWITCHBOARD_BENCH_PROCESSES:-3}"; fi

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
# Results of an earlier run must not leak into this report.
rm -rf "$artifacts/results" "$artifacts"/process-*
results="$artifacts/results"
if [[ "$processes" -gt 1 ]]; then
  # In process, BenchmarkDotNet's launches would share one process: run the suite in separate processes instead.
  results=""
  for ((p = 1; p <= processes; p++)); do
    echo "== benchmarks, process $p of $processes: ${bdn_args[*]}"
    dotnet "$bench_dll" --artifacts "$artifacts/process-$p" "${bdn_args[@]}"
    results="${results:+$results,}$artifacts/process-$p/results"
  done
else
  echo "== benchmarks: ${bdn_args[*]}"
  dotnet "$bench_dll" --artifacts "$artifacts" "${bdn_args[@]}"
fi

load_after="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
os="$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)"
os="${os:-$(uname -s)} ($(uname -r))"

markdown=docs/benchmarks.md
chart=docs/benchmarks.png
if [[ "$write_docs" == false ]]; then
  markdown="$artifacts/benchmarks.md"
  chart="$artifacts/benchmarks.png"
  # The sections other harnesses wrote into the page are kept from it, as in a real run.
  cp docs/benchmarks.md "$markdown"
fi
echo "== report -> $markdown"
dotnet "$report_dll" \
  --results "$results" \
  --markdown "$markdown" \
  --chart "$chart" \
  --command "$command_line" \
  --cpu "${cpu:-unknown}" \
  --os "$os" \
  --commit "$commit" \
  --load "1-minute load average $load_before before the run, $load_after after it" \
  --smoke "$smoke_log"
