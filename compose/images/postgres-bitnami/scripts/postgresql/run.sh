#!/bin/bash
# Fixture re-implementation of bitnami's postgresql/run.sh: exec postgres on the data dir with conf/ files.
set -o errexit -o nounset -o pipefail

. /opt/bitnami/scripts/libpostgresql.sh
. /opt/bitnami/scripts/postgresql-env.sh

flags=("-D" "$POSTGRESQL_DATA_DIR" "--config-file=$POSTGRESQL_CONF_FILE" "--external_pid_file=$POSTGRESQL_PID_FILE" "--hba_file=$POSTGRESQL_PGHBA_FILE")
if [[ -n "${POSTGRESQL_EXTRA_FLAGS:-}" ]]; then
    read -r -a extra_flags <<<"$POSTGRESQL_EXTRA_FLAGS"
    flags+=("${extra_flags[@]}")
fi
flags+=("$@")

info "** Starting PostgreSQL **"
exec "$(command -v postgres)" "${flags[@]}"
