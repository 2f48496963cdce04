"""The writing client of `--writer RATE`: a stand-in for a job-queue worker that keeps writing through the run.

It runs as a sidecar container (the deployment's `postgres:15` image, only for its `psql`) on the deployment's
compose network and reaches the database the way the application does: TCP to the service name
`inventree-db`, as the application's user, password from the environment (`-e PGPASSWORD`, the value only in
the docker CLI's environment, never on argv). So it is "another client" exactly as upshift's window isolation
sees one: a container on the database's network.

Every attempt is one `psql -c "INSERT INTO bench_writer(note) VALUES (...) RETURNING id"` (autocommit) and the
container prints `ok <id>` when psql exited 0 (the commit was acknowledged) or `fail <first error line>`; then it
sleeps RATE seconds. RATE is the pause between attempts in seconds (`--writer 0.3`: about one row every 0.3 s
plus the attempt's own time). Failures while the database is down or fenced are expected and counted, not fatal
(connect timeout 2 s). The host reads the lines with their arrival time.

After the run, `check()` reads the ids in the upgraded database:
- lost: acknowledged rows that are not in the table (the hard failure: a committed row is gone); a row is its
  (id, attempt number) pair, the attempt number being in `note`, so a row acknowledged by a cluster that was
  later rolled back counts as lost even when the old cluster has a row with the same id;
- gaps: ids missing from the table between its smallest and largest id (a sequence may legitimately skip
  after a rollback or crash, so gaps are reported, not failed);
- duplicates: ids that are in the table twice, or that were acknowledged twice (a second hard failure: a serial
  primary key cannot repeat unless a client wrote into half-restored tables);
- unacknowledged: rows in the table the writer never saw acknowledged (e.g. commit done, reply lost).
"""
import os
import subprocess
import threading
import time

from deploy import DB, Failure, run

TABLE = "bench_writer"
CREATE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "
          "note text)")

# $1 = pause between attempts (seconds), $2 = note
LOOP = r'''
trap 'exit 0' TERM INT
n=0
while :; do
  n=$((n + 1))
  if out=$(psql -X -q -At -v ON_ERROR_STOP=1 -c "INSERT INTO bench_writer(note) VALUES ('$2 $n') RETURNING id" 2>&1); then
    echo "ok $out $n"
  else
    echo "fail $(printf '%s' "$out" | head -n 1)"
  fi
  sleep "$1"
done
'''


def create_table(d):
    d.psql(CREATE, d.env("INVENTREE_DB_NAME"))


def db_network(d) -> str:
    """The compose network the database container is on (the one the application uses)."""
    out = run(["docker", "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}\n{{end}}",
               d.container(DB)]).stdout.split()
    nets = [n for n in out if n.startswith(d.name)] or out
    if not nets:
        raise Failure(f"{d.name}: the database container is on no network")
    return nets[0]


class Writer:
    """The sidecar writer of one run; `start()` then `stop()`, `summary()` for the JSON."""

    def __init__(self, d, rate: float, image: str = "postgres:15"):
        self.d = d
        self.rate = rate
        self.image = image
        self.name = f"{d.name}-writer"
        self.events = []          # (monotonic, ok, id or message)
        self._lock = threading.Lock()
        self._proc = None
        self._reader = None

    def start(self, ready_timeout: float = 60.0):
        d = self.d
        env = dict(os.environ, PGPASSWORD=d.env("INVENTREE_DB_PASSWORD"), PGHOST=DB, PGUSER=d.env("INVENTREE_DB_USER"),
                   PGDATABASE=d.env("INVENTREE_DB_NAME"), PGCONNECT_TIMEOUT="2")
        d.extra_containers.append(self.name)
        argv = ["docker", "run", "-i", "--rm", "--name", self.name, "--network", db_network(d),
                # the name of a fenced database fails to resolve only after the resolver's timeout (10 s by
                # default here, no upstream DNS): 1 s and one try, so the writer keeps knocking every ~2 s
                "--dns-opt", "timeout:1", "--dns-opt", "attempts:1",
                "-e", "PGPASSWORD", "-e", "PGHOST", "-e", "PGUSER", "-e", "PGDATABASE", "-e", "PGCONNECT_TIMEOUT",
                "--entrypoint", "sh", self.image, "-c", LOOP, "writer", f"{self.rate:g}", d.name]
        self._proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, name="writer", daemon=True)
        self._reader.start()
        end = time.monotonic() + ready_timeout
        while time.monotonic() < end:
            if any(ok for _, ok, _ in self.snapshot()):
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.1)
        raise Failure(f"{d.name}: the writer committed nothing within {ready_timeout:.0f} s: "
                      f"{[m for _, ok, m in self.snapshot() if not ok][-3:]}")

    def _read(self):
        for line in self._proc.stdout:
            line = line.strip()
            t = time.monotonic()
            if line.startswith("ok "):
                try:
                    parts = line[3:].split()
                    event = (t, True, (int(parts[0]), int(parts[1])))
                except (ValueError, IndexError):
                    event = (t, False, f"unparsable: {line[:200]}")
            elif line.startswith("fail"):
                event = (t, False, line[5:][:200])
            else:
                continue
            with self._lock:
                self.events.append(event)

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def wait_commit_after(self, after: float, deadline: float = 60.0) -> bool:
        """Waits for an acknowledged insert after monotonic time `after` (the writer got back in)."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if any(ok and t > after for t, ok, _ in self.snapshot()):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        if self.name in self.d.extra_containers:
            run(["docker", "rm", "-f", self.name], check=False, timeout=120)
            self.d.extra_containers.remove(self.name)
        if self._proc:
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._reader:
            self._reader.join(timeout=10)

    def summary(self, since: float):
        """Counts for the JSON: attempts, committed ids, failures, and the writer's own outage after `since`."""
        events = self.snapshot()
        acked = [x for _, ok, x in events if ok]
        committed = [i for i, _ in acked]
        failures = [(t, m) for t, ok, m in events if not ok]
        out = {"rate": self.rate, "attempts": len(events), "committed": len(committed),
               "failed_attempts": len(failures), "committed_ids": committed,
               "committed_attempts": [n for _, n in acked],
               "first_failures": sorted({m for _, m in failures})[:5]}
        # the longest stretch without an acknowledged insert around the run: a fenced name lookup can hang
        # rather than fail, so this is measured between acknowledgements, not from the failures
        acks = [t for t, ok, _ in events if ok]
        before = [t for t in acks if t < since][-1:]
        after = [t for t in acks if t >= since]
        times = before + after
        out["write_outage_seconds"] = round(max((b - a for a, b in zip(times, times[1:])), default=0.0), 3)
        return out


def check(d, summary: dict):
    """Adds lost / gaps / unacknowledged to `summary` from the upgraded database's table."""
    text = d.psql(f"SELECT id, split_part(note, ' ', 2) FROM {TABLE} ORDER BY id", d.env("INVENTREE_DB_NAME"))
    pairs = [tuple(int(v) for v in line.split("|")) for line in text.splitlines() if line.strip()]
    rows = [i for i, _ in pairs]
    present = set(rows)
    # a committed row is the pair (id, attempt number): an id alone can come back from another cluster (a row
    # acknowledged by a cluster that was then rolled back can share its id with a row of the old one)
    committed = set(zip(summary["committed_ids"], summary["committed_attempts"]))
    acked_twice = sorted({i for i in summary["committed_ids"] if summary["committed_ids"].count(i) > 1})
    duplicated = sorted({i for i in rows if rows.count(i) > 1}) if len(rows) != len(present) else []
    lost = sorted(i for i, _ in committed - set(pairs))
    gaps = sorted(set(range(min(present), max(present) + 1)) - present) if present else []
    unacked = sorted(i for i, _ in set(pairs) - committed)
    summary.update({"rows_in_table": len(rows), "duplicates": len(rows) - len(present) + len(acked_twice),
                    "duplicate_ids": sorted(set(duplicated) | set(acked_twice))[:50], "lost": len(lost), "lost_ids": lost[:50],
                    "gaps": len(gaps), "gap_ids": gaps[:50], "unacknowledged": len(unacked),
                    "unacknowledged_ids": unacked[:50]})
    return summary
