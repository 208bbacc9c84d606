#!/usr/bin/env bash
# The main job: installs what is missing, then runs a whole galera-minder site on a real local
# Galera cluster and tells what happens (see scripts/demo.ts). --keep leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (it installs Debian packages, runs mariadbd as mysql and cuts links with iptables):" >&2
  echo "  as root: bash scripts/demo.sh     or, with sudo installed: sudo bash scripts/demo.sh" >&2
  exit 2
fi
bash scripts/setup.sh
exec flock /tmp/minder-lab.lock node dist/scripts/demo.js "$@"
