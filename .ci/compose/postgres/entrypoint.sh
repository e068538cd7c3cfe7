#!/usr/bin/env bash
# First start: initdb as POSTGRES_USER with POSTGRES_PASSWORD, then CREATE DATABASE POSTGRES_DB in
# single-user mode (no server answers pg_isready before the database exists). Then run postgres.
set -euo pipefail
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
USER_=${POSTGRES_USER:-postgres}
DB=${POSTGRES_DB:-$USER_}
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"; chown postgres "$pw"
  as_pg initdb -D "$PGDATA" -U "$USER_" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  if [ "$DB" != postgres ]; then
    echo "CREATE DATABASE \"$DB\" OWNER \"$USER_\";" | as_pg postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "entrypoint: initialised $PGDATA (user $USER_, database $DB)"
fi
if [ "$1" = postgres ]; then exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"; fi
exec "$@"
