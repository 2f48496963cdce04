#!/bin/bash
# Fixture stand-in for timescaledb-docker-ha's scripts/010_install_timescaledb_toolkit.sh (original in
# ../upstream/timescaledb-docker-ha/), which sources /.image_config and runs CREATE EXTENSION IF NOT EXISTS
# timescaledb_toolkit CASCADE in postgres, template1 and $POSTGRES_DB. There is no timescaledb_toolkit here: left out.
echo "upshift fixture: no timescaledb_toolkit in this image; CREATE EXTENSION timescaledb_toolkit left out"
