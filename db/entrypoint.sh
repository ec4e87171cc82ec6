#!/bin/sh
# First start: make a random password (in the secret volume the backend mounts read-only),
# then the cluster, the user and the database. Every start: PostgreSQL on all of the
# container's addresses, which only the private network reaches; password logins only.
set -eu
secret=/run/feedback-secret/password
if [ ! -s "$secret" ]; then
  umask 022  # the backend's user (another uid) reads it; nothing else mounts this volume
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$secret.tmp"
  mv "$secret.tmp" "$secret"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -U "$FEEDBACK_DB_USER" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 --pwfile="$secret" -E UTF8 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # The database, made through the socket of a server nobody else can reach yet.
  pg_ctl -D "$PGDATA" -w -s -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start
  PGPASSWORD=$(cat "$secret") createdb -h /tmp -U "$FEEDBACK_DB_USER" "$FEEDBACK_DB_NAME"
  pg_ctl -D "$PGDATA" -w -s -m fast stop
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
