#!/usr/bin/env bash
# Every benchmark of issue 7, then docs/benchmarks.md regenerated from their results files.
# Debian 12, as root (the Galera lab cuts with iptables and runs mariadbd as mysql), after
# `bash scripts/setup.sh`. About 30 minutes. Benchmarks are not tests: a step fails only when it
# produced no figure, never because of a timing.
#   BENCH_SKIP="protocol scale garbd lb footprint latency"   leave some out (their last results files are used)
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
# One Galera lab at a time on this machine (fixed loopback addresses): every lab step takes the lock.
lab() { flock /tmp/minder-lab.lock npx vitest run --config "$1"; }
step() { echo; echo "== $(date -u +%FT%TZ) $1 (load $(cut -d' ' -f1-3 /proc/loadavg))"; }

npm run build

if ! skip protocol; then
  step "§3 authenticated messages/s/core (bench/protocol.ts)"
  { echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"; node dist/bench/protocol.js; } | tee bench/scale-protocol.results.txt
fi
if ! skip scale; then
  step "§3 the arbitrator with 10, 100, 1,000 simulated dbservers (bench/scale.ts)"
  node dist/bench/scale.js
fi
if ! skip garbd; then
  step "§1 failover and bytes, minder vs garbd; §4 hook delay (bench/garbd-failover.ts, bench/footprint-hook.ts)"
  lab bench/garbd-failover.vitest.config.ts
fi
if ! skip lb; then
  step "§2 load-balancer reaction (bench/lb-reaction.ts)"
  LB_REACTION_ROUNDS="${LB_REACTION_ROUNDS:-5}" lab bench/lb-reaction.vitest.config.ts
fi
if ! skip footprint; then
  step "§4 resident memory after an hour-equivalent, start-up (bench/footprint.ts)"
  lab bench/footprint.vitest.config.ts
fi
if ! skip latency; then
  step "§4 the hook's run time (bench/dbserver-latency.run.ts)"
  lab bench/dbserver-latency.vitest.config.ts
fi

step "docs/benchmarks.md"
node dist/bench/run-all.report.js
