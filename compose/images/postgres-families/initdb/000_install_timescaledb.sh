#!/bin/bash
# Fixture stand-in for timescaledb-docker's docker-entrypoint-initdb.d/000_install_timescaledb.sh (the original is
# in ../upstream/timescaledb-docker/). This test stack has no TimescaleDB binaries, so only the part that does not
# need the extension is kept: the `timescaledb.telemetry_level` line in postgresql.conf (a custom setting the server
# accepts without the library). Left out: CREATE EXTENSION timescaledb CASCADE in postgres, template1 and
# $POSTGRES_DB, and the telemetry job's alter_job(1, scheduled := false) for TIMESCALEDB_TELEMETRY=off.
# Sourced by the entrypoint like the original (mode 0644), so it must not `exit`.

if [ -z "${POSTGRESQL_CONF_DIR:-}" ]; then
	POSTGRESQL_CONF_DIR=${PGDATA}
fi

TS_TELEMETRY='basic'
if [ "${TIMESCALEDB_TELEMETRY:-}" == "off" ]; then
	TS_TELEMETRY='off'
fi

echo "timescaledb.telemetry_level=${TS_TELEMETRY}" >> ${POSTGRESQL_CONF_DIR}/postgresql.conf

echo "upshift fixture: no TimescaleDB in this image; CREATE EXTENSION timescaledb left out"
