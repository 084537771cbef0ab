#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to the project's PublicAPI.Unshipped.txt.
# Review the diff: it is the change to the public surface.
# Usage: scripts/update-public-api.sh src/Switchboard [src/Other ...]
set -euo pipefail
for project in "$@"; do
  out=$(dotnet build "$project" --no-incremental 2>&1 || true)
  printf '%s\n' "$out" | python3 -c '
import re, sys, os
project = sys.argv[1]
symbols = set()
for line in sys.stdin:
    m = re.search(r"error RS0016: Symbol \x27(.*)\x27 is not part of the declared public API", line)
    if m and os.path.abspath(project) in os.path.abspath(line.split("(")[0]):
        symbols.add(m.group(1))
path = os.path.join(project, "PublicAPI.Unshipped.txt")
lines = [l.rstrip("\n") for l in open(path)] if os.path.exists(path) else ["#nullable enable"]
body = sorted(set(l for l in lines[1:] if l.strip()) | symbols)
open(path, "w").write("\n".join([lines[0]] + body) + "\n")
print(f"{project}: {len(symbols)} symbol(s) added")
' "$project"
done
