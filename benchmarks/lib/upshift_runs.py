"""Running upshift's pg-upgrade methods and reading its audit log (`upshift log --json --run ID`)."""
import json
import os
import subprocess

from deploy import run

METHOD_ARGS = {
    "dump-1": ["--method", "dump", "--jobs", "1"],
    "dump-N": ["--method", "dump", "--jobs", "{N}"],
    "pg_upgrade-copy": ["--method", "pg_upgrade", "--mode", "copy"],
    "pg_upgrade-link": ["--method", "pg_upgrade", "--mode", "link"],
    "pg_upgrade-swap": ["--method", "pg_upgrade", "--mode", "swap"],
}

# steps of upshift's plan that are verification (fingerprints), by step id
VERIFICATION_STEPS = ("fingerprint-old", "check-snapshot", "verify-replica", "verify")


def find_binary(repo: str):
    explicit = os.environ.get("UPSHIFT_BIN")
    if explicit:
        return explicit
    # release when it is the newest build; a debug build newer than the release has features the release lacks
    # (upshift's own work is orchestration and server-side SQL, so the build type hardly changes its timings)
    found = [os.path.join(repo, c) for c in (".build/release/upshift", ".build/debug/upshift")]
    found = [p for p in found if os.access(p, os.X_OK)]
    if not found:
        return None
    return max(found, key=lambda p: (os.path.getmtime(p), "release" in p))


def method_argv(method: str, jobs: int):
    return [a.replace("{N}", str(jobs)) for a in METHOD_ARGS[method]]


def support(binary: str, directory: str, method: str, jobs: int):
    """(supported, reason): a `--dry-run --json` with the method's flags must exit 0, and for dump-N the plan must
    show parallel tools (an older binary accepts --jobs but still dumps one stream)."""
    argv = [binary, "pg-upgrade", "-C", directory, "--to", "18", *method_argv(method, jobs), "--dry-run", "--json"]
    r = run(argv, check=False, timeout=300)
    if r.returncode != 0:
        line = next((l for l in (r.stderr or r.stdout).splitlines() if l.strip()), f"exit {r.returncode}")
        return False, f"binary rejects `{' '.join(method_argv(method, jobs))}`: {line.strip()[:160]}"
    if method == "dump-N":
        plan = r.stdout
        if "pg_restore" not in plan and "-Fd" not in plan and "--format=directory" not in plan:
            return False, "binary accepts --jobs but its dump plan has no pg_dump -Fd / pg_restore (single stream)"
    return True, ""


def upgrade(binary: str, directory: str, method: str, jobs: int, log_path: str):
    argv = [binary, "pg-upgrade", "-C", directory, "--to", "18", "--yes", *method_argv(method, jobs)]
    with open(log_path, "w") as out:
        r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=7200)
    return argv, r.returncode


def audit(binary: str, directory: str):
    """Step timings of the last run in the project's audit log: list of {step, seconds, start, end} plus the
    run's own record of its application downtime when it prints one."""
    runs = json.loads(run([binary, "log", "-C", directory, "--json"]).stdout)["runs"]
    if not runs:
        return None
    run_id = runs[-1]["run"]
    doc = json.loads(run([binary, "log", "-C", directory, "--json", "--run", run_id]).stdout)
    starts, steps = {}, []
    for record in doc["records"]:
        details = record.get("details") or {}
        if record["event"] == "step.started":
            starts[details.get("step")] = record["ts"]
        elif record["event"] in ("step.succeeded", "step.failed"):
            step = details.get("step")
            steps.append({"step": step, "seconds": round(float(details.get("seconds") or 0), 3),
                          "start": starts.get(step), "end": record["ts"], "event": record["event"],
                          "summary": (details.get("summary") or details.get("message") or "")[:200]})
    verification = round(sum(s["seconds"] for s in steps if s["step"] in VERIFICATION_STEPS), 3)
    return {"run": run_id, "outcome": runs[-1].get("outcome"), "steps": steps, "verification_seconds": verification}
