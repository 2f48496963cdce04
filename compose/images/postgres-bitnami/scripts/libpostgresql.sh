#!/bin/bash
# Fixture re-implementation of the parts of bitnami's libpostgresql.sh (bitnami/containers,
# bitnami/postgresql/{15,18}/debian-12/rootfs/opt/bitnami/scripts/libpostgresql.sh) that a standalone primary runs.
# Written from reading those scripts; same steps, order, files, SQL and messages. Not implemented: replication
# (slave mode, replication/sr_check users, synchronous standbys), LDAP, TLS, pgaudit.* settings, running as root.

. /opt/bitnami/scripts/liblog.sh

is_boolean_yes() { [[ "${1:-}" =~ ^(1|[Yy][Ee][Ss]|[Tt][Rr][Uu][Ee])$ ]]; }
am_i_root() { [[ "$(id -u)" = 0 ]]; }
is_dir_empty() {
    local dir
    dir="$(realpath "$1" 2>/dev/null || printf '%s' "$1")"
    [[ ! -e "$dir" ]] || [[ -z "$(ls -A "$dir")" ]]
}

# Like bitnami: when uid has no passwd entry, preload nss_wrapper with a passwd naming it "postgres"
# (initdb needs a user name). Only the entrypoint's process tree gets it; `docker exec` sessions do not.
postgresql_enable_nss_wrapper() {
    if ! getent passwd "$(id -u)" >/dev/null 2>&1 && [[ -e "$NSS_WRAPPER_LIB" ]]; then
        debug "Configuring libnss_wrapper..."
        export LD_PRELOAD="$NSS_WRAPPER_LIB"
        NSS_WRAPPER_PASSWD="$(mktemp)"; export NSS_WRAPPER_PASSWD
        NSS_WRAPPER_GROUP="$(mktemp)"; export NSS_WRAPPER_GROUP
        echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$POSTGRESQL_DATA_DIR:/bin/false" >"$NSS_WRAPPER_PASSWD"
        echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
    fi
}

postgresql_validate() {
    info "Validating settings in POSTGRESQL_* env vars.."
    local error_code=0
    _verr() { error "$1"; error_code=1; }
    _empty() {
        _verr "The $1 environment variable is empty or not set. Set the environment variable ALLOW_EMPTY_PASSWORD=yes to allow the container to be started with blank passwords. This is recommended only for development."
    }
    if is_boolean_yes "$ALLOW_EMPTY_PASSWORD"; then
        warn "You set the environment variable ALLOW_EMPTY_PASSWORD=${ALLOW_EMPTY_PASSWORD}. For safety reasons, do not use this flag in a production environment."
    else
        [[ -z "$POSTGRESQL_PASSWORD" ]] && _empty POSTGRESQL_PASSWORD
        if ((${#POSTGRESQL_PASSWORD} > 100)); then
            _verr "The password cannot be longer than 100 characters. Set the environment variable POSTGRESQL_PASSWORD with a shorter value"
        fi
        [[ -n "$POSTGRESQL_USERNAME" && -z "$POSTGRESQL_PASSWORD" ]] && _empty POSTGRESQL_PASSWORD
        if [[ -n "$POSTGRESQL_USERNAME" && "$POSTGRESQL_USERNAME" != postgres && -n "$POSTGRESQL_PASSWORD" && -z "$POSTGRESQL_DATABASE" ]]; then
            _verr "In order to use a custom PostgreSQL user you need to set the environment variable POSTGRESQL_DATABASE as well"
        fi
    fi
    if [[ "$POSTGRESQL_REPLICATION_MODE" != master ]]; then
        _verr "This fixture implements POSTGRESQL_REPLICATION_MODE=master only (bitnami also has 'slave')"
    fi
    [[ "$error_code" -eq 0 ]] || exit "$error_code"
}

# set PROPERTY VALUE [FILE]: replace an existing (maybe commented) line, else append; values single-quoted
postgresql_set_property() {
    local property="$1" value="$2" conf_file="${3:-$POSTGRESQL_CONF_FILE}"
    if grep -qE "^#*\s*${property}" "$conf_file"; then
        local out
        out="$(sed -E "s;^#*\s*${property}\s*=.*;${property} = '${value}';g" "$conf_file")"
        printf '%s\n' "$out" >"$conf_file"
    else
        echo "${property} = '${value}'" >>"$conf_file"
    fi
}

postgresql_create_pghba() {
    info "pg_hba.conf file not detected. Generating it..."
    info "Generating local authentication configuration"
    cat >"$POSTGRESQL_PGHBA_FILE" <<EOF
host     all             all             0.0.0.0/0               trust
host     all             all             ::/0                    trust
EOF
}

postgresql_allow_local_connection() {
    cat >>"$POSTGRESQL_PGHBA_FILE" <<EOF
local    all             all                                     trust
host     all             all        127.0.0.1/32                 trust
host     all             all        ::1/128                      trust
EOF
}

# every "trust" becomes "md5" once a password is set (also the local socket line)
postgresql_restrict_pghba() {
    if [[ -n "$POSTGRESQL_PASSWORD" ]]; then
        local out
        out="$(sed "s/trust/md5/g" "$POSTGRESQL_PGHBA_FILE")"
        printf '%s\n' "$out" >"$POSTGRESQL_PGHBA_FILE"
    fi
}

postgresql_configure_replication_parameters() {
    info "Configuring replication parameters"
    postgresql_set_property "wal_level" "$POSTGRESQL_WAL_LEVEL"
    postgresql_set_property "max_wal_size" "400MB"
    postgresql_set_property "max_wal_senders" "16"
    postgresql_set_property "wal_keep_size" "128MB"
    postgresql_set_property "hot_standby" "on"
}

postgresql_configure_fsync() {
    info "Configuring fsync"
    postgresql_set_property "fsync" "$POSTGRESQL_FSYNC"
}

postgresql_is_file_external() {
    [[ -d "$POSTGRESQL_MOUNTED_CONF_DIR" && -f "$POSTGRESQL_MOUNTED_CONF_DIR/$1" ]]
}

postgresql_clean_from_restart() {
    local f
    for f in "$POSTGRESQL_DATA_DIR"/postmaster.pid "$POSTGRESQL_DATA_DIR"/standby.signal "$POSTGRESQL_DATA_DIR"/recovery.signal; do
        if [[ -f "$f" ]]; then
            info "Cleaning stale $f file"
            rm "$f"
        fi
    done
}

# execute [DB] [USER] [PASSWORD]: SQL from stdin over TCP 127.0.0.1, output discarded (BITNAMI_DEBUG shows it)
postgresql_execute() {
    local db="${1:-}" user="${2:-postgres}" pass="${3:-}"
    local args=(-U "$user" -p "$POSTGRESQL_PORT_NUMBER" -h 127.0.0.1)
    [[ -n "$db" ]] && args+=(-d "$db")
    if is_boolean_yes "$BITNAMI_DEBUG"; then
        PGPASSWORD="$pass" psql "${args[@]}"
    else
        PGPASSWORD="$pass" psql "${args[@]}" >/dev/null 2>&1
    fi
}

is_postgresql_running() {
    local pid
    pid="$(head -n1 "$POSTGRESQL_PID_FILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

postgresql_start_bg() {
    local pg_logs="${1:-false}"
    local flags=(-W -D "$POSTGRESQL_DATA_DIR" -l "$POSTGRESQL_LOG_FILE" -o
        "--config-file=$POSTGRESQL_CONF_FILE --external_pid_file=$POSTGRESQL_PID_FILE --hba_file=$POSTGRESQL_PGHBA_FILE")
    info "Starting PostgreSQL in background..."
    is_postgresql_running && return 0
    if is_boolean_yes "$BITNAMI_DEBUG" || [[ "$pg_logs" = true ]]; then
        "$POSTGRESQL_BIN_DIR"/pg_ctl start "${flags[@]}"
    else
        "$POSTGRESQL_BIN_DIR"/pg_ctl start "${flags[@]}" >/dev/null 2>&1
    fi
    local counter="$POSTGRESQL_INIT_MAX_TIMEOUT"
    while ! "$POSTGRESQL_BIN_DIR"/pg_isready -U postgres -p "$POSTGRESQL_PORT_NUMBER" -h 127.0.0.1 >/dev/null 2>&1; do
        sleep 1
        counter=$((counter - 1))
        if ((counter <= 0)); then
            error "PostgreSQL is not ready after $POSTGRESQL_INIT_MAX_TIMEOUT seconds"
            exit 1
        fi
    done
}

postgresql_stop() {
    if [[ -f "$POSTGRESQL_PID_FILE" ]]; then
        info "Stopping PostgreSQL..."
        pg_ctl stop -w -D "$POSTGRESQL_DATA_DIR" -m "$POSTGRESQL_SHUTDOWN_MODE" -t "$POSTGRESQL_PGCTLTIMEOUT"
    fi
}

postgresql_master_init_db() {
    local initdb_args=() extra=()
    if [[ -n "$POSTGRESQL_INITDB_ARGS" ]]; then
        read -r -a extra <<<"$POSTGRESQL_INITDB_ARGS"
        initdb_args+=("${extra[@]}")
    fi
    if [[ -n "$POSTGRESQL_INITDB_WAL_DIR" ]]; then
        mkdir -p "$POSTGRESQL_INITDB_WAL_DIR"
        initdb_args+=(--waldir "$POSTGRESQL_INITDB_WAL_DIR")
    fi
    [[ "${#initdb_args[@]}" -gt 0 ]] && info "Initializing PostgreSQL with ${initdb_args[*]} extra initdb arguments"
    if is_boolean_yes "$BITNAMI_DEBUG"; then
        "$POSTGRESQL_BIN_DIR/initdb" -E UTF8 -D "$POSTGRESQL_DATA_DIR" -U postgres "${initdb_args[@]}"
    else
        "$POSTGRESQL_BIN_DIR/initdb" -E UTF8 -D "$POSTGRESQL_DATA_DIR" -U postgres "${initdb_args[@]}" >/dev/null 2>&1
    fi
}

postgresql_alter_postgres_user() {
    local escaped="${1//\'/\'\'}"
    info "Changing password of postgres"
    echo "ALTER ROLE postgres WITH PASSWORD '$escaped';" | postgresql_execute
    if [[ -n "$POSTGRESQL_POSTGRES_CONNECTION_LIMIT" ]]; then
        echo "ALTER ROLE postgres WITH CONNECTION LIMIT ${POSTGRESQL_POSTGRES_CONNECTION_LIMIT};" | postgresql_execute
    fi
}

# the custom user: LOGIN CREATEDB (not superuser), owner of POSTGRESQL_DATABASE and of its public schema
postgresql_create_admin_user() {
    local escaped="${POSTGRESQL_PASSWORD//\'/\'\'}" pgpass="${POSTGRESQL_POSTGRES_PASSWORD:-$POSTGRESQL_PASSWORD}"
    local connlimit=""
    [[ -n "$POSTGRESQL_USERNAME_CONNECTION_LIMIT" ]] && connlimit="CONNECTION LIMIT ${POSTGRESQL_USERNAME_CONNECTION_LIMIT}"
    info "Creating user ${POSTGRESQL_USERNAME}"
    echo "CREATE ROLE \"${POSTGRESQL_USERNAME}\" WITH LOGIN ${connlimit} CREATEDB PASSWORD '${escaped}';" | postgresql_execute "" postgres "$pgpass"
    info "Granting access to \"${POSTGRESQL_USERNAME}\" to the database \"${POSTGRESQL_DATABASE}\""
    echo "GRANT ALL PRIVILEGES ON DATABASE \"${POSTGRESQL_DATABASE}\" TO \"${POSTGRESQL_USERNAME}\"\;" | postgresql_execute "" postgres "$pgpass"
    echo "ALTER DATABASE \"${POSTGRESQL_DATABASE}\" OWNER TO \"${POSTGRESQL_USERNAME}\"\;" | postgresql_execute "" postgres "$pgpass"
    info "Setting ownership for the 'public' schema database \"${POSTGRESQL_DATABASE}\" to \"${POSTGRESQL_USERNAME}\""
    echo "ALTER SCHEMA public OWNER TO \"${POSTGRESQL_USERNAME}\"\;" | postgresql_execute "$POSTGRESQL_DATABASE" postgres "$pgpass"
}

postgresql_create_custom_database() {
    echo "CREATE DATABASE \"$1\"" | postgresql_execute "" postgres ""
}

postgresql_configure_logging() {
    [[ -n "$POSTGRESQL_LOG_CONNECTIONS" ]] && postgresql_set_property log_connections "$POSTGRESQL_LOG_CONNECTIONS"
    [[ -n "$POSTGRESQL_LOG_DISCONNECTIONS" ]] && postgresql_set_property log_disconnections "$POSTGRESQL_LOG_DISCONNECTIONS"
    [[ -n "$POSTGRESQL_CLIENT_MIN_MESSAGES" ]] && postgresql_set_property client_min_messages "$POSTGRESQL_CLIENT_MIN_MESSAGES"
    [[ -n "$POSTGRESQL_LOG_TIMEZONE" ]] && postgresql_set_property log_timezone "$POSTGRESQL_LOG_TIMEZONE"
    return 0
}

postgresql_configure_connections() {
    [[ -n "$POSTGRESQL_MAX_CONNECTIONS" ]] && postgresql_set_property max_connections "$POSTGRESQL_MAX_CONNECTIONS"
    [[ -n "$POSTGRESQL_STATEMENT_TIMEOUT" ]] && postgresql_set_property statement_timeout "$POSTGRESQL_STATEMENT_TIMEOUT"
    return 0
}

postgresql_configure_timezone() {
    [[ -n "$POSTGRESQL_TIMEZONE" ]] && postgresql_set_property timezone "$POSTGRESQL_TIMEZONE"
    return 0
}

# Fixture-only: bitnami preloads pgaudit by default; this fixture has no pgaudit module, so libraries that are
# not installed are left out (with a warning) instead of making the server fail to start.
postgresql_fixture_preload_libraries() {
    local libs=() lib pkglibdir
    pkglibdir="$("$POSTGRESQL_BIN_DIR"/pg_config --pkglibdir 2>/dev/null || echo "$POSTGRESQL_BASE_DIR/lib")"
    for lib in ${POSTGRESQL_SHARED_PRELOAD_LIBRARIES//,/ }; do
        if [[ -e "$pkglibdir/$lib.so" || -e "$POSTGRESQL_BASE_DIR/lib/$lib.so" ]]; then
            libs+=("$lib")
        else
            warn "Fixture: shared_preload_libraries entry '$lib' is not in this image; left out"
        fi
    done
    local IFS=,
    printf '%s' "${libs[*]}"
}

postgresql_initialize() {
    info "Initializing PostgreSQL database..."
    rm -f "$POSTGRESQL_PID_FILE"

    if [[ -d "$POSTGRESQL_MOUNTED_CONF_DIR" ]] && compgen -G "$POSTGRESQL_MOUNTED_CONF_DIR"/'*' >/dev/null; then
        debug "Copying files from $POSTGRESQL_MOUNTED_CONF_DIR to $POSTGRESQL_CONF_DIR"
        cp -fr "$POSTGRESQL_MOUNTED_CONF_DIR"/. "$POSTGRESQL_CONF_DIR"
    fi
    local create_conf_file=yes create_pghba_file=yes
    if postgresql_is_file_external postgresql.conf; then
        info "Custom configuration $POSTGRESQL_CONF_FILE detected"
        create_conf_file=no
    fi
    if postgresql_is_file_external pg_hba.conf && is_boolean_yes "$POSTGRESQL_USE_CUSTOM_PGHBA_INITIALIZATION"; then
        info "Custom configuration $POSTGRESQL_PGHBA_FILE detected"
        create_pghba_file=no
    fi

    debug "Ensuring expected directories/files exist..."
    local dir
    for dir in "$POSTGRESQL_TMP_DIR" "$POSTGRESQL_LOG_DIR" "$POSTGRESQL_DATA_DIR"; do
        [[ -d "$dir" ]] || mkdir -p "$dir"
    done
    chmod u+rwx "$POSTGRESQL_DATA_DIR" || warn "Lack of permissions on data directory!"
    chmod go-rwx "$POSTGRESQL_DATA_DIR" || warn "Lack of permissions on data directory!"

    if is_boolean_yes "$POSTGRESQL_ALLOW_REMOTE_CONNECTIONS" && is_boolean_yes "$create_pghba_file"; then
        postgresql_create_pghba && postgresql_allow_local_connection
    fi
    postgresql_set_property port "$POSTGRESQL_PORT_NUMBER"
    [[ -n "$POSTGRESQL_DEFAULT_TOAST_COMPRESSION" ]] && postgresql_set_property default_toast_compression "$POSTGRESQL_DEFAULT_TOAST_COMPRESSION"
    [[ -n "$POSTGRESQL_PASSWORD_ENCRYPTION" ]] && postgresql_set_property password_encryption "$POSTGRESQL_PASSWORD_ENCRYPTION"
    if ! is_dir_empty "$POSTGRESQL_DATA_DIR"; then
        # Nothing checks PG_VERSION here: data of another major goes on to run.sh, where postgres refuses it.
        info "Deploying PostgreSQL with persisted data..."
        export POSTGRESQL_FIRST_BOOT=no
        is_boolean_yes "$create_pghba_file" && postgresql_restrict_pghba
        is_boolean_yes "$create_conf_file" && postgresql_configure_replication_parameters
        is_boolean_yes "$create_conf_file" && postgresql_configure_fsync
    else
        postgresql_master_init_db
        postgresql_start_bg false
        [[ -n "$POSTGRESQL_DATABASE" && "$POSTGRESQL_DATABASE" != postgres ]] && postgresql_create_custom_database "$POSTGRESQL_DATABASE"
        if [[ "$POSTGRESQL_USERNAME" = postgres ]]; then
            postgresql_alter_postgres_user "$POSTGRESQL_PASSWORD"
        else
            [[ -n "$POSTGRESQL_POSTGRES_PASSWORD" ]] && postgresql_alter_postgres_user "$POSTGRESQL_POSTGRES_PASSWORD"
            postgresql_create_admin_user
        fi
        is_boolean_yes "$create_pghba_file" && postgresql_restrict_pghba
        is_boolean_yes "$create_conf_file" && postgresql_configure_replication_parameters
        is_boolean_yes "$create_conf_file" && postgresql_configure_fsync
    fi
    if is_boolean_yes "$create_conf_file" && [[ -n "$POSTGRESQL_SHARED_PRELOAD_LIBRARIES" ]]; then
        local preload
        preload="$(postgresql_fixture_preload_libraries)"
        [[ -n "$preload" ]] && postgresql_set_property shared_preload_libraries "$preload"
    fi
    is_boolean_yes "$create_conf_file" && postgresql_configure_logging
    is_boolean_yes "$create_conf_file" && postgresql_configure_connections
    is_boolean_yes "$create_conf_file" && postgresql_configure_timezone

    # initdb's own config files are removed: the server runs with --config-file/--hba_file from conf/
    rm -f "$POSTGRESQL_DATA_DIR"/postgresql.conf "$POSTGRESQL_DATA_DIR"/pg_hba.conf
    postgresql_stop
}

postgresql_custom_pre_init_scripts() {
    info "Loading custom pre-init scripts..."
    if [[ -d "$POSTGRESQL_PREINITSCRIPTS_DIR" ]] && [[ -n "$(find "$POSTGRESQL_PREINITSCRIPTS_DIR/" -type f -name '*.sh')" ]]; then
        info "Loading user's custom files from $POSTGRESQL_PREINITSCRIPTS_DIR ..."
        local f
        while read -r f; do
            if [[ -x "$f" ]]; then debug "Executing $f"; "$f"; else debug "Sourcing $f"; . "$f"; fi
        done < <(find "$POSTGRESQL_PREINITSCRIPTS_DIR/" -type f -name '*.sh' | sort)
    fi
}

# once per volume: the marker is $POSTGRESQL_VOLUME_DIR/.user_scripts_initialized, not PG_VERSION
postgresql_custom_init_scripts() {
    info "Loading custom scripts..."
    local list
    list="$(find "$POSTGRESQL_INITSCRIPTS_DIR/" -type f \( -name '*.sh' -o -name '*.sql' -o -name '*.sql.gz' \) 2>/dev/null | sort)"
    if [[ -d "$POSTGRESQL_INITSCRIPTS_DIR" && -n "$list" && ! -f "$POSTGRESQL_VOLUME_DIR/.user_scripts_initialized" ]]; then
        info "Loading user's custom files from $POSTGRESQL_INITSCRIPTS_DIR ..."
        postgresql_start_bg false
        local f
        while read -r f; do
            case "$f" in
                *.sh) if [[ -x "$f" ]]; then debug "Executing $f"; "$f"; else debug "Sourcing $f"; . "$f"; fi ;;
                *.sql) debug "Executing $f"
                    postgresql_execute "$POSTGRESQL_DATABASE" "$POSTGRESQL_INITSCRIPTS_USERNAME" "$POSTGRESQL_INITSCRIPTS_PASSWORD" <"$f" ;;
                *.sql.gz) debug "Executing $f"
                    gunzip -c "$f" | postgresql_execute "$POSTGRESQL_DATABASE" "$POSTGRESQL_INITSCRIPTS_USERNAME" "$POSTGRESQL_INITSCRIPTS_PASSWORD" ;;
            esac
        done <<<"$list"
        touch "$POSTGRESQL_VOLUME_DIR"/.user_scripts_initialized
    fi
}

postgresql_remove_pghba_lines() {
    local filter out
    for filter in ${POSTGRESQL_PGHBA_REMOVE_FILTERS//,/ }; do
        out="$(sed -E "/${filter}/d" "$POSTGRESQL_PGHBA_FILE")"
        printf '%s\n' "$out" >"$POSTGRESQL_PGHBA_FILE"
    done
}
