#!/bin/sh
# docker-compose only, on a new volume: the engine's read-only role (scripts/stack.d/engine-role.sql,
# as scripts/stack does), its password from FRAUD_ENGINE_PG_PASSWORD. Its grants: the `migrate` service.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v engine_password="$FRAUD_ENGINE_PG_PASSWORD" -f /engine-role.sql
