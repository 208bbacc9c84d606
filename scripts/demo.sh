#!/usr/bin/env bash
# The main job: installs what is missing, then runs a whole galera-minder site on a real local
# Galera cluster and tells what happens (see scripts/demo.ts). --keep leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec flock /tmp/minder-lab.lock node dist/scripts/demo.js "$@"
