#!/bin/sh
# galera-minder's wsrep_notify_cmd hook. In my.cnf:   wsrep_notify_cmd=/usr/lib/galera-minder/systemd/wsrep-notify.sh
# mariadbd runs it as its own user on every Galera state change and waits for it; it forwards
# the arguments to the local dbserver (bounded wait for the ack) and always exits 0.
# MINDER_HOME: where galera-minder is installed (default: this script's parent directory).
# MINDER_NOTIFY_FILE: the hook file (default /etc/minder/notify.json).
here=$(dirname "$0")
MINDER_HOME=${MINDER_HOME:-$(cd "$here/.." && pwd)}
exec "${MINDER_NODE:-node}" "$MINDER_HOME/dist/src/hook/main.js" "$@"
