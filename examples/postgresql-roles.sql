-- pelihara on PostgreSQL with two roles (README, "The audit log"):
--   pelihara_owner  owns the database and its tables, and runs `pelihara init` (the
--                   migrations, the append-only triggers); no daily command uses it;
--   pelihara_app    what every other command connects as: it reads and changes the
--                   inventory, but may only INSERT and SELECT on the audit log, and as
--                   no owner it cannot drop or disable the log's triggers.
--
-- 1. As a superuser, once:            psql -f postgresql-roles.sql
-- 2. As the owner:                    pelihara --db postgresql://pelihara_owner@HOST/pelihara init
-- 3. As the owner, after EVERY init:  psql -U pelihara_owner -d pelihara -f postgresql-grants.sql
-- Other names: psql -v owner=NAME -v app=NAME -v db=NAME -f ...
-- Give the roles passwords (\password NAME) or certificate authentication in pg_hba.conf.

\set ON_ERROR_STOP on
\if :{?owner}
\else
  \set owner pelihara_owner
\endif
\if :{?app}
\else
  \set app pelihara_app
\endif
\if :{?db}
\else
  \set db pelihara
\endif

CREATE ROLE :"owner" LOGIN;
CREATE ROLE :"app" LOGIN;
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";
\connect :"db"
-- The public schema belongs to the database's owner (PostgreSQL 15); nobody else creates in it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
