# Shared by compose/testenv/up and compose/testenv/down (sourced, not run).
STATE="${UPSHIFT_TESTENV:-/var/tmp/upshift-testenv}"
SOCK="$STATE/docker.sock"          # keep short: unix socket paths are limited to 107 bytes
DATA_ROOT="$STATE/docker"
EXEC_ROOT="$STATE/x"
REGISTRY="${UPSHIFT_TESTENV_REGISTRY:-127.0.0.1:5555}"   # override only to run a second, independent stack

log() { printf '[testenv %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# poll_until SECONDS CMD...: run CMD every 0.2 s until it succeeds or the deadline passes.
poll_until() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# pid_is PIDFILE EXE: print the pid from PIDFILE if that process is alive and runs EXE.
pid_is() {
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" = "$2" ] && echo "$pid"
}
