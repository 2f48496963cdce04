#!/bin/bash
# Fixture re-implementation of bitnami's postgresql/setup.sh (standalone primary, non-root).
set -o errexit -o nounset -o pipefail

. /opt/bitnami/scripts/libpostgresql.sh
. /opt/bitnami/scripts/postgresql-env.sh

postgresql_validate
trap postgresql_stop EXIT
if am_i_root; then
    # bitnami creates/chowns for the 'postgres' daemon user and runs initdb/pg_ctl through it
    error "Fixture: running as root (user: root / --user 0) is not implemented; the real image supports it"
    exit 1
fi
postgresql_clean_from_restart
postgresql_custom_pre_init_scripts
postgresql_initialize
postgresql_custom_init_scripts

if ! postgresql_is_file_external postgresql.conf && is_boolean_yes "$POSTGRESQL_ALLOW_REMOTE_CONNECTIONS"; then
    info "Enabling remote connections"
    postgresql_set_property listen_addresses "*"
fi
if ! postgresql_is_file_external pg_hba.conf && [[ -n "$POSTGRESQL_PGHBA_REMOVE_FILTERS" ]]; then
    info "Removing lines that match these filters: ${POSTGRESQL_PGHBA_REMOVE_FILTERS}"
    postgresql_remove_pghba_lines
fi
