-- What pelihara_app may do (see postgresql-roles.sql). Run as the owner after every
-- `pelihara init`, so that tables a new version adds are covered too:
--   psql -U pelihara_owner -d pelihara -f postgresql-grants.sql      (-v app=NAME)

\set ON_ERROR_STOP on
\if :{?app}
\else
  \set app pelihara_app
\endif

GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- The audit log: appended to and read, never changed (the triggers refuse that too).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM :"app";
-- The schema's version is the owner's business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM :"app";
