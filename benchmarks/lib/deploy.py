"""Throw-away copies of the InvenTree sample deployment (compose/inventree) for the downtime benchmark.

Every copy gets a unique compose project name (its folder name) and publishes the app's port 8000 on a free
127.0.0.1 port so the host can probe it. Secrets never go into argv: the database password stays in the
copy's `.env` and reaches containers through compose or through `-e NAME` with the value in our environment.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time

DB = "inventree-db"
APP = ["inventree-server", "inventree-worker"]
PGDATA_REL = "inventree-data/pgdb"     # host path of PGDATA inside the deployment folder
MOUNT_IN_CONTAINER = "/var/lib/postgresql/data"


class Failure(Exception):
    pass


def log(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(argv, *, cwd=None, check=True, capture=True, timeout=3600, stdin=None, stdout=None, env=None, input_text=None):
    """subprocess.run with argv only; raises Failure with the output tail on a non-zero exit when `check`."""
    kwargs = dict(cwd=cwd, timeout=timeout, env=env)
    if input_text is not None:
        kwargs["input"] = input_text
        kwargs["text"] = True
    elif stdin is not None:
        kwargs["stdin"] = stdin
    if stdout is not None:
        kwargs["stdout"] = stdout
        kwargs["stderr"] = subprocess.PIPE
    elif capture:
        kwargs["capture_output"] = True
    if "text" not in kwargs:
        kwargs["text"] = stdout is None
    result = subprocess.run(argv, **kwargs)
    if check and result.returncode != 0:
        err = result.stderr if isinstance(result.stderr, str) else (result.stderr or b"").decode(errors="replace")
        out = result.stdout if isinstance(result.stdout, str) else ""
        raise Failure(f"`{' '.join(argv)}` exited {result.returncode}:\n{(out or '')[-1500:]}\n{(err or '')[-2500:]}")
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_file_value(path: str, key: str):
    with open(path) as f:
        for line in f:
            m = re.match(rf"^{re.escape(key)}=(.*)$", line.strip())
            if m:
                return m.group(1).strip().strip('"')
    return None


class Deployment:
    """One copy of the sample deployment in `directory` (project name = folder name)."""

    def __init__(self, directory: str):
        self.directory = directory
        self.name = os.path.basename(directory)
        self.port = None
        self.extra_containers = []   # names of containers started outside compose (removed on teardown)

    # -- files
    @property
    def compose_file(self):
        return os.path.join(self.directory, "docker-compose.yml")

    def path(self, relative: str) -> str:
        return os.path.join(self.directory, relative)

    def env(self, key: str):
        return env_file_value(self.path(".env"), key)

    @classmethod
    def from_sample(cls, sample: str, directory: str):
        shutil.copytree(sample, directory, symlinks=True)
        d = cls(directory)
        d.publish_app_port()
        return d

    @classmethod
    def clone(cls, golden: "Deployment", directory: str):
        """Byte copy of a stopped golden deployment (cp -a keeps the uid 999 owner and modes of the cluster)."""
        run(["cp", "-a", "--reflink=auto", golden.directory, directory])
        d = cls(directory)
        d.publish_app_port()
        return d

    def publish_app_port(self):
        """Publishes inventree-server:8000 on a fresh 127.0.0.1 port (replacing an earlier benchmark line)."""
        self.port = free_port()
        text = open(self.compose_file).read()
        line = f'      - "127.0.0.1:{self.port}:8000"  # benchmark probe\n'
        if "# benchmark probe" in text:
            text = re.sub(r'^      - "127\.0\.0\.1:\d+:8000"  # benchmark probe\n', line, text, flags=re.M)
        else:
            anchor = "    expose:\n      - ${INVENTREE_WEB_PORT:-8000}\n"
            if anchor not in text:
                raise Failure(f"{self.compose_file}: cannot find the inventree-server expose block to publish a port")
            text = text.replace(anchor, anchor + "    ports:\n" + line, 1)
        with open(self.compose_file, "w") as f:
            f.write(text)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/api/"

    def set_db_image(self, old: str, new: str):
        text = open(self.compose_file).read()
        if f"image: {old}\n" not in text:
            raise Failure(f"{self.compose_file}: no 'image: {old}' line")
        with open(self.compose_file, "w") as f:
            f.write(text.replace(f"image: {old}\n", f"image: {new}\n", 1))

    def set_db_command(self, argv):
        """Gives the db service a `command:` (after its image line), as a user sets server options."""
        text = open(self.compose_file).read()
        anchor = "    image: postgres:15\n"
        if anchor not in text:
            raise Failure(f"{self.compose_file}: no 'image: postgres:15' line to add a command after")
        line = "    command: [" + ", ".join(json.dumps(a) for a in argv) + "]\n"
        with open(self.compose_file, "w") as f:
            f.write(text.replace(anchor, anchor + line, 1))

    # -- compose / docker
    def compose(self, *args, check=True, timeout=1800, **kw):
        return run(["docker", "compose", "--ansi", "never", "-p", self.name, *args], cwd=self.directory,
                   check=check, timeout=timeout, **kw)

    def container(self, service: str) -> str:
        cid = self.compose("ps", "-q", service).stdout.strip()
        if not cid:
            raise Failure(f"{self.name}: service {service} has no container")
        return cid.splitlines()[0]

    def db_exec(self, *argv, check=True, timeout=3600, **kw):
        """`docker exec -i <db container> ARGV` (root in the container; psql and friends use the unix socket)."""
        return run(["docker", "exec", "-i", self.container(DB), *argv], check=check, timeout=timeout, **kw)

    def psql(self, sql: str, db: str = "postgres") -> str:
        user = self.env("INVENTREE_DB_USER")
        return self.db_exec("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db, "-c", sql).stdout.strip()

    def wait_db_ready(self, container: str, deadline: float = 180.0):
        """Polls `pg_isready -h 127.0.0.1` in the container: TCP, so the entrypoint's socket-only init server
        does not count; only the final server does."""
        user = self.env("INVENTREE_DB_USER")
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            r = run(["docker", "exec", container, "pg_isready", "-q", "-h", "127.0.0.1", "-U", user], check=False)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise Failure(f"{self.name}: database in {container} not ready after {deadline:.0f} s")

    def up_wait(self, timeout: int = 300):
        self.compose("up", "-d", "--wait", "--wait-timeout", str(timeout), timeout=timeout + 60)

    def teardown(self):
        for name in self.extra_containers:
            run(["docker", "rm", "-f", "-v", name], check=False, timeout=120)
        if os.path.isdir(self.directory):
            self.compose("down", "-v", "--remove-orphans", "-t", "5", check=False, timeout=300)
            shutil.rmtree(self.directory, ignore_errors=True)
