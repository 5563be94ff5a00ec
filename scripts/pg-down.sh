#!/bin/bash
# Stops the cluster started by pg-up.sh (reads PGTMP and PGBIN from the environment).
set -uo pipefail
[ -n "${PGTMP:-}" ] && [ -d "$PGTMP" ] || exit 0
AS=(); if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1
rm -rf "$PGTMP"
