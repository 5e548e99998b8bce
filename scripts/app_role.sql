-- Privileges of the role the application runs as (docs/operations.md, "Database roles").
-- Run as the role that owns the tables (the one `manage.py migrate` runs as), in the
-- application's database, after every migrate: it is idempotent and covers new tables.
--   psql "$OWNER_DATABASE_URL" -v ON_ERROR_STOP=1 -f scripts/app_role.sql
-- The role itself is created once by an administrator:
--   CREATE ROLE helpdesk_app LOGIN PASSWORD '...' NOSUPERUSER NOCREATEDB NOCREATEROLE;
-- (the PBX, mail and import jobs' temp tables need TEMPORARY on the database, which PUBLIC
-- has by default; otherwise GRANT CONNECT, TEMPORARY ON DATABASE <db> TO helpdesk_app).

GRANT USAGE ON SCHEMA public TO helpdesk_app;
-- Rows only: no TRUNCATE, REFERENCES, TRIGGER; no ownership, so no ALTER/DROP/DISABLE TRIGGER.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO helpdesk_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO helpdesk_app;
-- The audit trail: append and read, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON helpdesk_auditevent FROM helpdesk_app;
-- The migration history is the owner's to write.
REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM helpdesk_app;
-- Tables and sequences the owner creates from now on (the next migrate) are granted too; the
-- audit table's REVOKE above still needs this file run again if that table is ever rebuilt.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO helpdesk_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO helpdesk_app;
