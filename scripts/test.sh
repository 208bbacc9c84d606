#!/usr/bin/env bash
# The test command: sets up what is missing, then runs the fast unit suite (pure code, the
# simulator) and the lab suite (real MariaDB Galera and HAProxy started on loopback).
#   bash scripts/test.sh            both suites
#   bash scripts/test.sh unit       the fast suite only (seconds)
#   bash scripts/test.sh lab        the lab suite only (minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
if [ "$which" != unit ] && [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: the lab suite needs root (it runs mariadbd as mysql and cuts links with iptables):" >&2
  echo "  as root: bash scripts/test.sh     or, with sudo installed: sudo bash scripts/test.sh" >&2
  echo "  the unit suite alone runs as any user once setup is done: bash scripts/test.sh unit" >&2
  exit 2
fi
bash scripts/setup.sh
status=0
if [ "$which" = all ] || [ "$which" = unit ]; then
  # Format and lint (biome.json): a lint error or an unformatted file fails the run.
  npx biome ci . || status=$?
  # With v8 coverage of src/: below the floor in vitest.config.ts fails the run.
  npx vitest run --project unit --coverage || status=$?
fi
if [ "$which" = all ] || [ "$which" = lab ]; then
  npx vitest run --project lab --passWithNoTests || status=$?
fi
# Nothing the tests started may outlive them.
left=$(pgrep -af 'galera-lab-|minder-haproxy-|dist/src/minder.js run' | grep -v pgrep || true)
if [ -n "$left" ]; then
  echo "test.sh: processes left running by the tests:" >&2
  echo "$left" >&2
  status=1
fi
exit $status
