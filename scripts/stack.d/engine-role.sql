-- The engine's own PostgreSQL role, created by the server's superuser (scripts/stack up and
-- scripts/stack roles pipe this file to psql with :engine_password set). It may log in and
-- nothing more: its read access to the rules and lists tables is granted by the schema's owner
-- after the migrations, `fraud-engine migrate --engine-role fraud_engine`
-- (src/storage/engine-role.ts), so no other table is ever readable by it.
SELECT 'CREATE ROLE fraud_engine LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fraud_engine')\gexec
ALTER ROLE fraud_engine WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'engine_password';
