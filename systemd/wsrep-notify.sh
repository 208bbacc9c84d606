#!/bin/sh
# galera-minder's wsrep_notify_cmd hook. In my.cnf ([mysqld]):
#   wsrep_notify_cmd = /usr/lib/galera-minder/wsrep-notify.sh              (socket /run/minder/hook.sock)
#   wsrep_notify_cmd = /usr/lib/galera-minder/wsrep-notify.sh /run/x.sock  (the dbserver's hookSocket)
# mariadbd runs it as its own user (mysql) on every Galera state change and waits for it. It
# writes Galera's arguments as one line to the local dbserver's unix socket (mode 0660, group
# mysql: the filesystem says who may write; no key is needed) and always exits 0. One fork of
# socat and nothing else: ~5 ms (docs/dbserver.md). socat is what Debian's mariadb-server
# already depends on (for SST); the galera-minder package depends on it too.
sock=/run/minder/hook.sock
case ${1-} in
  /*) sock=$1; shift ;;
esac
# gm1, then each argument after a unit separator (0x1f), then a newline (src/hook/line.ts).
# connect-timeout: a dbserver that hangs with a full backlog cannot hold mariadbd up.
if ! { printf 'gm1'; printf '\037%s' "$@"; printf '\n'; } | socat -u -T 2 STDIN "UNIX-CONNECT:$sock,connect-timeout=1" 2>/dev/null; then
  echo "minder-notify: $* not delivered to $sock: is the dbserver running, and may $(id -un 2>/dev/null || echo this user) write to the socket?" >&2
fi
exit 0
