#!/usr/bin/env bash
# Installs what galera-minder's demo and tests need on a Debian machine, only what is missing:
# MariaDB + Galera 4 + rsync (the real cluster), HAProxy, iptables (cutting links on loopback),
# socat and tmux (operator tests), Prometheus and Chromium (observability tests), etcd (the
# arbitrator's etcd store), then the npm packages and the build. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
[ -e /usr/lib/galera/libgalera_smm.so ] || need_apt+=(galera-4)
command -v garbd >/dev/null 2>&1 || need_apt+=(galera-arbitrator-4)
command -v rsync >/dev/null 2>&1 || need_apt+=(rsync)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need_apt+=(iptables)
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v pgrep >/dev/null 2>&1 || need_apt+=(procps)
# The package test (test/e2e/package.test.ts) builds the .deb and checks it.
command -v lintian >/dev/null 2>&1 || need_apt+=(lintian)
# etcd 3.4 for the arbitrator's etcd store (docs/arbitrator-ha.md); the lab starts its own
# members on loopback. The package's own etcd.service, if it starts one, listens on
# 127.0.0.1:2379/2380 and is left alone: the lab picks free ports.
[ -x /usr/bin/etcd ] || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# Prometheus + promtool (the contrib rules' checks and the scrape test) and Chromium (the status
# page's browser test, driven by playwright-core: no browser is downloaded).
command -v promtool >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || need_apt+=(prometheus)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++ make python3)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages: ${need_apt[*]}; run this as root (no sudo needed when logged in as root), or install them: apt-get install -y ${need_apt[*]}" >&2
    exit 2
  fi
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The package may start a system mariadbd on 127.0.0.1:3306; the lab uses 127.0.0.1x, so it
  # does not clash, and we leave it alone.
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: node $(node --version) is too old; galera-minder needs Node >= 20.19 (Debian 12's own nodejs is 18:" >&2
  echo "  install a nodejs package >= 20.19 first, e.g. NodeSource's 20.x or 22.x for Debian 12; README 'Install')" >&2
  exit 2
fi

# better-sqlite3 compiles from source here (no prebuilt download): point node-gyp at the
# system's Node headers.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
stamp=node_modules/.minder-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
npm run -s build
