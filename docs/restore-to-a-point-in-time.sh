#!/usr/bin/env bash
# Restore peerlog's PostgreSQL from a base backup and archived WAL to a point in time,
# as docs/deployment.md describes, and start it as a server of its own (on PORT), ready
# for `peerlog verify`. Run it as the user PostgreSQL runs as (postgres):
#
#   restore-to-a-point-in-time.sh BASE_BACKUP WAL_ARCHIVE TARGET_TIME NEW_DATA PORT
#
# BASE_BACKUP  a plain-format base backup (pg_basebackup -D BASE_BACKUP -X stream)
# WAL_ARCHIVE  the folder archive_command copies WAL segments into
# TARGET_TIME  the moment to recover to, e.g. '2026-12-01 14:05:00+01'; everything
#              committed by then is restored, nothing committed after it
# NEW_DATA     a data folder to create (it must not exist)
# PORT         the port the restored server listens on
#
# PG_BIN names PostgreSQL's programs (default: the newest /usr/lib/postgresql/*/bin);
# RESTORE_SECONDS bounds the wait for recovery (default 600).
set -euo pipefail

if [ "$#" -ne 5 ]; then
    sed -n '2,17p' "$0" >&2
    exit 2
fi
backup=$1 archive=$2 target=$3 data=$4 port=$5
bin=${PG_BIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)}
seconds=${RESTORE_SECONDS:-600}

if [ -e "$data" ]; then
    echo "$data exists; give a new data folder" >&2
    exit 2
fi
mkdir -m 700 "$data"
cp -a "$backup"/. "$data"/
rm -f "$data/postmaster.pid" "$data/standby.signal"

# Later lines of postgresql.conf win. The restored copy archives nothing (the archive
# is the original's), takes WAL from the archive, stops at the target and is promoted.
cat >> "$data/postgresql.conf" <<CONF

# restore-to-a-point-in-time.sh
port = $port
archive_mode = off
synchronous_standby_names = ''
restore_command = 'cp "$archive/%f" "%p"'
recovery_target_time = '$target'
recovery_target_action = 'promote'
CONF
touch "$data/recovery.signal"

"$bin/pg_ctl" -D "$data" -l "$data/restore.log" -w -t "$seconds" start

# Recovery replays the archive up to the target, then the server is promoted.
for _ in $(seq 1 $((seconds * 5))); do
    state=$("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc \
        'SELECT pg_is_in_recovery()' 2>/dev/null || true)
    if [ "$state" = "f" ]; then
        echo "restored to $target: the server on port $port is ready for 'peerlog verify'"
        exit 0
    fi
    sleep 0.2
done
echo "recovery did not finish in $seconds s; see $data/restore.log" >&2
exit 1
