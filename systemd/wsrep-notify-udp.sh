#!/bin/sh
# galera-minder's wsrep_notify_cmd hook. In my.cnf:   wsrep_notify_cmd=/opt/galera-minder/systemd/wsrep-notify.sh
# mariadbd runs it as its own user on every Galera state change and waits for it; it forwards
# the arguments to the local dbserver (bounded wait for the ack) and always exits 0.
# MINDER_HOME: where galera-minder is installed (default: this script's parent directory).
# MINDER_NODE: the node binary (default: node on PATH).
# MINDER_NOTIFY_FILE: the hook file (default /etc/minder/notify.json).
# No subshell and no other program before node: each fork is time mariadbd waits (docs/dbserver.md).
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
exec "${MINDER_NODE:-node}" "${MINDER_HOME:-$here/..}/dist/src/hook/main.js" "$@"
