#!/usr/bin/env bash
# Every benchmark of issue 7, then docs/benchmarks.md regenerated from their results files.
# Debian 12, as root (the Galera lab cuts with iptables and runs mariadbd as mysql), after
# `bash scripts/setup.sh`. About 30 minutes. Benchmarks are not tests: a step fails only when it
# produced no figure, never because of a timing.
#   BENCH_SKIP="protocol scale baseline modules garbd lb footprint hookrestart latency"   leave some out (their newest results files are used)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run-all.sh: run as root (the Galera lab needs iptables and chowns its nodes to mysql)" >&2
  exit 2
fi
for b in node npx mariadbd garbd haproxy iptables flock; do
  command -v "$b" >/dev/null || { echo "bench/run-all.sh: $b is missing; run: bash scripts/setup.sh" >&2; exit 2; }
done

skip() { [[ " ${BENCH_SKIP:-} " == *" $1 "* ]]; }
failed=()
# A step that produced no figure is reported at the end; the others still run and the page is
# still written (with the last results of the failed step, dated as they are).
run() { local name=$1; shift; "$@" || { echo "bench/run-all.sh: $name failed (exit $?)" >&2; failed+=("$name"); }; }
# One Galera lab at a time on this machine (fixed loopback addresses): every lab step takes the lock.
lab() { flock /tmp/minder-lab.lock npx vitest run --project bench "$1"; }
step() { echo; echo "== $(date -u +%FT%TZ) $1 (load $(cut -d' ' -f1-3 /proc/loadavg))"; }
# Results are dated files under bench/results/<benchmark>/ (bench/results.ts), one per run, never rewritten.
protocol() {
  local f
  f="bench/results/protocol/$(date -u +%Y-%m-%dT%H-%M-%S.%3NZ).txt"
  mkdir -p bench/results/protocol
  { echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"; node dist/bench/protocol.js; } > "$f.new" && mv "$f.new" "$f" && cat "$f"
}

npm run build

if ! skip protocol; then
  step "§3 authenticated messages/s/core (bench/protocol.ts)"
  run protocol protocol
fi
if ! skip scale; then
  step "§3 the arbitrator with 10, 100, 1,000 simulated dbservers (bench/scale.ts)"
  run scale node dist/bench/scale.js
fi
if ! skip baseline; then
  step "§4 context: bare Node vs Node with the minder's modules (bench/footprint-baseline.ts)"
  run baseline node dist/bench/footprint-baseline.js
fi
if ! skip modules; then
  step "§4 what each module costs at start (bench/module-cost.ts)"
  run modules node dist/bench/module-cost.js
fi
if ! skip garbd; then
  step "§1 failover and bytes, minder vs garbd; §4 hook delay (bench/garbd-failover.ts, bench/footprint-hook.ts)"
  run garbd lab bench/garbd-failover.run.ts
fi
if ! skip lb; then
  step "§2 load-balancer reaction (bench/lb-reaction.ts)"
  LB_REACTION_ROUNDS="${LB_REACTION_ROUNDS:-5}" run lb lab bench/lb-reaction.run.ts
fi
if ! skip footprint; then
  step "§4 resident memory after an hour-equivalent, start-up (bench/footprint.ts)"
  run footprint lab bench/footprint.run.ts
fi
if ! skip hookrestart; then
  step "§4 the shell hook: mariadbd restart and IST (bench/hook-restart.run.ts)"
  run hookrestart lab bench/hook-restart.run.ts
fi
if ! skip latency; then
  step "§4 the hook's run time (bench/dbserver-latency.run.ts)"
  run latency lab bench/dbserver-latency.run.ts
fi

step "docs/benchmarks.md"
node dist/bench/run-all.report.js
if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench/run-all.sh: no new figures from: ${failed[*]} (docs/benchmarks.md shows their previous results)" >&2
  exit 1
fi
