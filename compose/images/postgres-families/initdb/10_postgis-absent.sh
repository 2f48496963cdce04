#!/bin/bash
# Fixture /docker-entrypoint-initdb.d/10_postgis.sh for postgis/postgis tags whose PostGIS does not exist on this
# test stack (18-3.6: no PostGIS build for PostgreSQL 18 in Debian bookworm or on PyPI). The real image's script,
# docker-postgis's initdb-postgis.sh, is in the image unchanged at /usr/local/share/docker-postgis/initdb-postgis.sh
# and runs as is whenever postgis.control is present. Without it, only its first step, which needs no extension,
# is done (CREATE DATABASE template_postgis IS_TEMPLATE true); left out: CREATE EXTENSION postgis,
# postgis_topology, fuzzystrmatch and postgis_tiger_geocoder in template_postgis and $POSTGRES_DB. (The real
# script against a missing PostGIS would stop the entrypoint, as psql runs with ON_ERROR_STOP=1.)
# Sourced by the entrypoint like the original (mode 0644: it uses the entrypoint's "${psql[@]}"), so no `exit`.
if [ -e "$(pg_config --sharedir)/extension/postgis.control" ]; then
	. /usr/local/share/docker-postgis/initdb-postgis.sh
else
	export PGUSER="$POSTGRES_USER"
	"${psql[@]}" <<- 'EOSQL'
	CREATE DATABASE template_postgis IS_TEMPLATE true;
	EOSQL
	echo "upshift fixture: PostGIS is not in this image; template_postgis created empty, extensions left out"
fi
