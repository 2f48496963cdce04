#!/bin/bash
# Fixture re-implementation (not bitnami's code) of the log lines bitnami's liblog.sh prints:
#   "<MODULE> HH:MM:SS.cc INFO  ==> message" on stderr, coloured unless BITNAMI_COLOR is not yes/true/1,
#   silenced by BITNAMI_QUIET, DEBUG lines only with BITNAMI_DEBUG.

_bn_yes() { [[ "${1,,}" =~ ^(1|yes|true)$ ]]; }

_bn_log() {
    local colour="$1" level="$2"; shift 2
    _bn_yes "${BITNAMI_QUIET:-false}" && return 0
    local now="$EPOCHREALTIME" frac stamp
    frac="${now#*.}"; frac="${frac:0:2}"
    printf -v stamp '%(%T)T.%s' "${now%.*}" "$frac"
    if _bn_yes "${BITNAMI_COLOR:-true}"; then
        printf '\033[38;5;6m%s \033[38;5;5m%s \033[0m%b%s\033[0m ==> %s\n' "${MODULE:-}" "$stamp" "$colour" "$level" "$*" >&2
    else
        printf '%s %s %s ==> %s\n' "${MODULE:-}" "$stamp" "$level" "$*" >&2
    fi
}
info() { _bn_log '\033[38;5;2m' 'INFO ' "$@"; }
warn() { _bn_log '\033[38;5;3m' 'WARN ' "$@"; }
error() { _bn_log '\033[38;5;1m' 'ERROR' "$@"; }
debug() { _bn_yes "${BITNAMI_DEBUG:-false}" && _bn_log '\033[38;5;5m' 'DEBUG' "$@"; return 0; }
