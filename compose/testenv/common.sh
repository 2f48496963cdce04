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

# pid_gone PID: the process has exited. A zombie counts as gone: it holds nothing any more, and the pid 1 of some
# sandboxes reaps orphans only about 1.5 s after they exit.
pid_gone() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [ "${stat%% *}" = Z ]
}

# stop_pid PID NAME: SIGTERM, wait up to 20 s, then SIGKILL.
stop_pid() {
    local pid="$1" name="$2"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! poll_until 20 pid_gone "$pid"; then
        log "$name did not exit within 20 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        poll_until 5 pid_gone "$pid" || true
    fi
}

# children_of PID: the pids whose parent is PID.
children_of() {
    # one awk over every status file (cat skips processes that vanish meanwhile)
    cat /proc/[0-9]*/status 2>/dev/null | awk -v p="$1" '/^Pid:/ { pid = $2 } /^PPid:/ && $2 == p { print pid }' || true
}

# stop_shims ADDRESS: shims of containers that outlived a killed daemon, only those bound to the containerd socket
# ADDRESS (exact argv match), so another engine's shims are never touched.
stop_shims() {
    local exe pid cpid
    for exe in /proc/[0-9]*/exe; do
        pid="${exe#/proc/}"; pid="${pid%/exe}"
        [ "$(readlink "$exe" 2>/dev/null || true)" = /usr/bin/containerd-shim-runc-v2 ] || continue
        if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$1"; then
            # its children are the containers' init processes: killing init ends the container's pid namespace
            for cpid in $(children_of "$pid"); do
                log "killing container init $cpid (shim $pid)"; kill -KILL "$cpid" 2>/dev/null || true
            done
            stop_pid "$pid" "containerd-shim (left over)"
        fi
    done
}
