#!/bin/sh
# Creates the pipeline's warehouse: a login role and a database it owns, next to Airflow's
# metadata database. The postgres image runs this once, on the first start with an empty
# data volume (`devstack reset pgdata` starts over); running it again changes nothing but
# the role's password, which it sets to WAREHOUSE_PASSWORD.
#
# Values reach psql through \getenv and are quoted by psql itself (:'v' as a literal,
# :"v" as an identifier), so no name or password is ever pasted into SQL text or shown
# on a command line. Needs psql 15 or newer (\getenv).
#
# The image runs this file when it is executable and sources it otherwise, so it sets no
# shell options; a failure exits non-zero either way, which stops the database's init.

: "${WAREHOUSE_DB:?WAREHOUSE_DB is not set (it comes from .env through the stack file)}"
: "${WAREHOUSE_USER:?WAREHOUSE_USER is not set (it comes from .env through the stack file)}"
: "${WAREHOUSE_PASSWORD:?WAREHOUSE_PASSWORD is not set (it comes from .env through the stack file)}"

if ! psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'EOSQL'
\getenv wh_db WAREHOUSE_DB
\getenv wh_user WAREHOUSE_USER
\getenv wh_password WAREHOUSE_PASSWORD

SELECT format('CREATE ROLE %I LOGIN', :'wh_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'wh_user')
\gexec

ALTER ROLE :"wh_user" WITH LOGIN PASSWORD :'wh_password';

SELECT format('CREATE DATABASE %I OWNER %I', :'wh_db', :'wh_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'wh_db')
\gexec

-- Only the owner (and superusers) may connect to the warehouse.
REVOKE ALL ON DATABASE :"wh_db" FROM PUBLIC;
EOSQL
then
	echo "warehouse: creating the warehouse role and database failed (see psql's message above)" >&2
	exit 1
fi

echo "warehouse: database \"$WAREHOUSE_DB\" owned by role \"$WAREHOUSE_USER\" is ready"
