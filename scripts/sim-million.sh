#!/usr/bin/env bash
# The long simulator run (issue 11: 1,000,000 seeds once), in chunks of 25,000 seeds, one
# process each (a single run.js grows over a long run). Resumable: a finished chunk is skipped.
#   npm run build && nohup bash scripts/sim-million.sh [FROM] [TO] &
# Results in sim-million/: done.<from> (the summary and any failing seed with its replay line).
set -euo pipefail
cd "$(dirname "$0")/.."
from=${1:-10000}
to=${2:-1010000}
mkdir -p sim-million
for start in $(seq "$from" 25000 $((to - 1))); do
  [ -f "sim-million/done.$start" ] && continue
  nice -n 19 node dist/test/sim/run.js --seeds 25000 --from "$start" > "sim-million/chunk.$start.log" 2>&1 || true
  { grep -E "episodes from|^seed [0-9]+(:| FAILED)|^replay:" "sim-million/chunk.$start.log" || true
    echo "commit $(git rev-parse HEAD) finished $(date -u +%FT%TZ)"; } > "sim-million/done.$start"
done
cat sim-million/done.* | grep -E "episodes from" | awk '{n+=$1; f+=$6} END {print n " seeds, " f " failed"}'
