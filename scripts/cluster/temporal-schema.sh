#!/bin/sh
# docker-compose.yml's `temporal-schema` service (temporalio/admin-tools): the steps of
# `npm run cluster`'s setupSchemas (src/cluster/temporal-server.ts) with the image's tools —
# create each database once, then `update-schema`, which applies the versions above the
# database's current one (idempotent: every `docker compose up` runs it, and an upgraded image
# migrates the schema before the new server starts). temporal-sql-tool takes the connection from
# SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD; psql from the PG* variables below.
set -eu
export PGHOST="$SQL_HOST" PGPORT="$SQL_PORT" PGUSER="$SQL_USER" PGPASSWORD="$SQL_PASSWORD"

# database:schema folder, as TEMPORAL_DATABASES in src/cluster/temporal-server.ts
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  schema=${pair#*:}
  if [ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    echo "creating database $db"
    temporal-sql-tool --database "$db" create-database
    temporal-sql-tool --database "$db" setup-schema -v 0.0
  fi
  temporal-sql-tool --database "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo 'schemas temporal and temporal_visibility are up to date'
