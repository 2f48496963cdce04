#!/bin/bash
# Fixture stand-in for timescaledb-docker's docker-entrypoint-initdb.d/001_timescaledb_tune.sh (original in
# ../upstream/timescaledb-docker/). The original runs timescaledb-tune (a Go tool, not packaged for Debian and not
# on PyPI) over $PGDATA/postgresql.conf unless NO_TS_TUNE is set: it sizes shared_buffers, work_mem, WAL and worker
# settings from the container's cgroup limits and puts timescaledb into shared_preload_libraries. None of that is
# done here: postgresql.conf keeps initdb's values.
if [ -n "${NO_TS_TUNE:-}" ]; then
    exit 0
fi
echo "upshift fixture: timescaledb-tune is not in this image; postgresql.conf left as initdb wrote it"
