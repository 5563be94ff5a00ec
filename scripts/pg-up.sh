#!/bin/bash
# Starts a throwaway PostgreSQL cluster on loopback and prints the exports to use it.
# Usage: eval "$(bash scripts/pg-up.sh)"; trap 'bash scripts/pg-down.sh' EXIT
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then echo "echo 'PostgreSQL not installed: PostgreSQL tests will be skipped' >&2"; exit 0; fi
PGTMP=$(mktemp -d /tmp/pgtest.XXXXXX)
PGPORT=${PGPORT:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}
AS=(); if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGTMP"; AS=(runuser -u postgres --); fi
"${AS[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$PGTMP/initdb.log"
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres sandbox_test
echo "export PGTMP=$PGTMP PGBIN=$PGBIN PGPORT=$PGPORT"
echo "export SANDBOX_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/sandbox_test"
