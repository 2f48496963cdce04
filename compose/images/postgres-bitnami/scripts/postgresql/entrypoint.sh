#!/bin/bash
# Fixture re-implementation of bitnami's postgresql/entrypoint.sh: welcome lines, nss_wrapper, conf.default
# copied into conf/ without overwriting, setup.sh only when the command is run.sh, then exec the command.
set -o errexit -o nounset -o pipefail

. /opt/bitnami/scripts/libpostgresql.sh
. /opt/bitnami/scripts/postgresql-env.sh

if [[ -z "${DISABLE_WELCOME_MESSAGE:-}" ]]; then
    info ""
    info "Welcome to the Bitnami ${BITNAMI_APP_NAME} container"
    info "Subscribe to project updates by watching https://github.com/bitnami/containers"
    info "Submit issues and feature requests at https://github.com/bitnami/containers/issues"
    info ""
fi

postgresql_enable_nss_wrapper

debug "Copying files from $POSTGRESQL_DEFAULT_CONF_DIR to $POSTGRESQL_CONF_DIR"
cp -nr "$POSTGRESQL_DEFAULT_CONF_DIR"/. "$POSTGRESQL_CONF_DIR"

if [[ "$*" = *"/opt/bitnami/scripts/postgresql/run.sh"* ]]; then
    info "** Starting PostgreSQL setup **"
    /opt/bitnami/scripts/postgresql/setup.sh
    touch "$POSTGRESQL_TMP_DIR"/.initialized
    info "** PostgreSQL setup finished! **"
fi

echo ""
exec "$@"
