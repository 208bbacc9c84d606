#!/bin/bash
# The lab's stand-in for Debian's systemd units, as the dbserver's `control` commands
# (docs/cold-start.md): start, bootstrap, stop and recover one lab node's mariadbd.
#   mariadbd-ctl.sh start|bootstrap MYCNF   start (bootstrap: --wsrep-new-cluster) and wait
#                                           until it accepts connections, like systemd's notify
#   mariadbd-ctl.sh stop MYCNF              SIGTERM, wait for it to exit
#   mariadbd-ctl.sh recover MYCNF           mariadbd --wsrep-recover; prints the position line
# As Debian's mariadb.service does (galera_recovery), start recovers the position first after a
# crash (grastate seqno -1) and passes it as --wsrep_start_position. The lab harness adopts the
# started mariadbd by its pid file and stops it by PID at teardown.
# A test makes the next `start` of a node fail (exit 1, nothing started) by creating
# fail-next-start beside its my.cnf: the start command that errors, once.
set -u
verb=${1:?verb}
cnf=${2:?my.cnf}
MARIADBD=${MARIADBD:-$(command -v mariadbd || echo /usr/sbin/mariadbd)}

val() { sed -n "s/^$1=//p" "$cnf" | tail -n1; }
datadir=$(val datadir)
pidfile=$(val pid_file)
socket=$(val socket)
dir=$(dirname "$cnf")

# A killed mariadbd that nobody reaped yet (a zombie) runs nothing.
alive() {
  [ -s "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  ! sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | grep -q '^Z'
}

recover() {
  local log="$dir/recover.log"
  rm -f "$log"
  "$MARIADBD" --defaults-file="$cnf" --wsrep-recover --log-error="$log" >/dev/null 2>&1 || { tail -n 3 "$log" >&2; return 1; }
  grep -o 'WSREP: Recovered position: [0-9a-f-]*:-\?[0-9]*' "$log" | tail -n1
}

case "$verb" in
  recover)
    if alive; then echo "mariadbd runs (pid $(cat "$pidfile"))" >&2; exit 1; fi
    recover
    ;;
  start|bootstrap)
    if [ "$verb" = start ] && [ -e "$dir/fail-next-start" ]; then
      rm -f "$dir/fail-next-start"
      echo "lab: this start fails on purpose ($dir/fail-next-start)" >&2
      exit 1
    fi
    if alive; then echo "mariadbd already runs (pid $(cat "$pidfile"))" >&2; exit 1; fi
    args=()
    if grep -q '^seqno:[[:space:]]*-1' "$datadir/grastate.dat" 2>/dev/null; then
      pos=$(recover | sed 's/.*position: //') || exit 1
      [ -n "$pos" ] && args+=("--wsrep_start_position=$pos")
    fi
    [ "$verb" = bootstrap ] && args+=(--wsrep-new-cluster)
    rm -f "$pidfile"
    setsid "$MARIADBD" --defaults-file="$cnf" "${args[@]}" >>"$dir/stdout.log" 2>&1 < /dev/null &
    pid=$!
    for _ in $(seq 1 1800); do
      if ! kill -0 "$pid" 2>/dev/null; then echo "mariadbd exited during start-up; see $(val log_error)" >&2; exit 1; fi
      [ -S "$socket" ] && [ -s "$pidfile" ] && exit 0
      sleep 0.1
    done
    echo "mariadbd (pid $pid) did not accept connections within 180 s" >&2
    exit 1
    ;;
  stop)
    alive || exit 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    echo "mariadbd (pid $pid) still runs 60 s after SIGTERM" >&2
    exit 1
    ;;
  *)
    echo "unknown verb $verb" >&2
    exit 2
    ;;
esac
