"""The raw floors: each upshift method done by hand with plain docker / docker compose commands, competently
(no verification, no snapshots, no isolation restart), so upshift's overhead can be measured against them.

Every procedure stops the app, moves the PostgreSQL 15 cluster aside (kept, like upshift does), switches the
image line to postgres:18, brings the new cluster up, analyzes, and starts the app again. Each records its
phases (name, seconds) so the report can show where the time goes.
"""
import os
import shlex
import subprocess
import time

from deploy import APP, DB, MOUNT_IN_CONTAINER, PGDATA_REL, Failure, run

OLD_IMAGE, NEW_IMAGE = "postgres:15", "postgres:18"


class Phases:
    def __init__(self):
        self.items = []

    def __call__(self, name):
        phases = self

        class _Timer:
            def __enter__(self):
                self.t = time.monotonic()

            def __exit__(self, *exc):
                phases.items.append({"phase": name, "seconds": round(time.monotonic() - self.t, 3)})
                return False
        return _Timer()


def _user(d):
    return d.env("INVENTREE_DB_USER")


def _stop_app(d, ph):
    with ph("stop app"):
        d.compose("stop", *APP)


def _disconnect(cid):
    """Takes container `cid` off every network; returns (network, aliases) to connect it again."""
    import json
    nets = json.loads(run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", cid]).stdout or "{}")
    out = []
    for net, conf in nets.items():
        run(["docker", "network", "disconnect", net, cid])
        out.append((net, [a for a in (conf or {}).get("Aliases") or [] if a]))
    return out


def _fence_clients(d, ph, ctx):
    """With `--writer`: other clients on the database's network (the writer) are kept out of the dump floors'
    window, as an operator must: right after the app is stopped the old container is taken off its compose
    network (it keeps its unix socket, which the dump uses), else rows written after the dump are lost; and the
    new container is taken off its network as soon as it is created (its entrypoint is still running initdb, so
    nobody got in yet) until the restore and analyze are done, else a client writes into half-restored tables
    (measured: a duplicate serial id and a failed primary key). `_start_app` connects it again (same aliases).
    The pg_upgrade floors need none of it: the database is stopped right after the app and the new cluster is
    complete when it starts."""
    if not ctx.get("writer"):
        return
    with ph("fence other clients"):
        _disconnect(d.container(DB))
    ctx["_fence_new"] = True


def _switch_and_start_db(d, ph, ctx=None):
    with ph("switch tag"):
        d.set_db_image(OLD_IMAGE, NEW_IMAGE)
    with ph("start new db"):
        d.compose("up", "-d", "--no-deps", DB)
        if ctx and ctx.pop("_fence_new", False):
            ctx["_fenced"] = (d.container(DB), _disconnect(d.container(DB)))
        d.wait_db_ready(d.container(DB))


def _move_aside(d, ph, suffix=".pg15"):
    with ph("move data aside"):
        os.rename(d.path(PGDATA_REL), d.path(PGDATA_REL + suffix))


def _start_app(d, ph, ctx=None):
    fenced = ctx and ctx.pop("_fenced", None)
    if fenced:
        with ph("let other clients in"):
            cid, nets = fenced
            for net, aliases in nets:
                run(["docker", "network", "connect", *[x for a in aliases for x in ("--alias", a)], net, cid])
    with ph("start app"):
        d.compose("up", "-d")


def _databases(d):
    return [x for x in d.psql("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname").splitlines() if x]


def dump_single(d, ctx):
    """(1) stop app; pg_dumpall > file; stop db; mv aside; switch tag; up db; psql < file; ANALYZE; up app."""
    ph, user = Phases(), _user(d)
    os.makedirs(d.path("backups"), exist_ok=True)
    dump = d.path("backups/dumpall.sql")
    _stop_app(d, ph)
    _fence_clients(d, ph, ctx)
    with ph("pg_dumpall > file"):
        with open(dump, "wb") as f:
            d.db_exec("pg_dumpall", "-U", user, stdout=f)
    with ph("stop db"):
        d.compose("stop", DB)
    _move_aside(d, ph)
    _switch_and_start_db(d, ph, ctx)
    with ph("psql < file"):
        with open(dump, "rb") as f:
            d.db_exec("psql", "-X", "-q", "-U", user, "-d", "postgres", stdin=f, stdout=subprocess.DEVNULL)
    with ph("analyze"):
        d.db_exec("vacuumdb", "-U", user, "--all", "--analyze-only", "-q")
    _start_app(d, ph, ctx)
    return ph.items


def dump_parallel(d, ctx):
    """(2) stop app; pg_dumpall --globals-only; pg_dump -Fd -j N per database; stop db; mv aside; switch tag;
    up db; globals; pg_restore -j N per database; vacuumdb -j N --analyze-only; up app."""
    ph, user, jobs = Phases(), _user(d), str(ctx["jobs"])
    os.makedirs(d.path("backups"), exist_ok=True)
    dump_host = d.path("inventree-data/bench-dump")
    dump_ct = MOUNT_IN_CONTAINER + "/bench-dump"
    os.makedirs(dump_host, exist_ok=True)
    _stop_app(d, ph)
    _fence_clients(d, ph, ctx)
    with ph("pg_dump -Fd -j N"):
        with open(d.path("backups/globals.sql"), "wb") as f:
            d.db_exec("pg_dumpall", "--globals-only", "-U", user, stdout=f)
        dbs = [x for x in _databases(d) if x not in ("template1",)]
        for db in dbs:
            d.db_exec("pg_dump", "-U", user, "-Fd", "-j", jobs, *ctx.get("dump_compress", []), "-f", f"{dump_ct}/{db}", db)
    with ph("stop db"):
        d.compose("stop", DB)
    _move_aside(d, ph)
    _switch_and_start_db(d, ph, ctx)
    with ph("pg_restore -j N"):
        with open(d.path("backups/globals.sql"), "rb") as f:
            d.db_exec("psql", "-X", "-q", "-U", user, "-d", "postgres", stdin=f, stdout=subprocess.DEVNULL)
        existing = set(_databases(d))
        for db in dbs:
            if db in existing:
                d.db_exec("pg_restore", "-U", user, "-j", jobs, "-d", db, f"{dump_ct}/{db}")
            else:
                d.db_exec("pg_restore", "-U", user, "-j", jobs, "-C", "-d", "postgres", f"{dump_ct}/{db}")
    with ph("analyze"):
        d.db_exec("vacuumdb", "-U", user, "--all", "--analyze-only", "-j", jobs, "-q")
    _start_app(d, ph, ctx)
    return ph.items


def pipe(d, ctx):
    """(4) classic single pipe with both servers running: a postgres:18 server on a fresh directory is started
    first (app still serving), then: stop app; pg_dumpall | psql; ANALYZE; stop both; swap directories; switch
    tag; up db; up app."""
    ph, user = Phases(), _user(d)
    new_rel = PGDATA_REL + ".new"
    name = f"{d.name}-pg18new"
    env = dict(os.environ, POSTGRES_PASSWORD=d.env("INVENTREE_DB_PASSWORD"), POSTGRES_USER=user,
               POSTGRES_DB=d.env("INVENTREE_DB_NAME"), PGDATA=f"{MOUNT_IN_CONTAINER}/pgdb.new")
    with ph("start new server (app still up)"):
        d.extra_containers.append(name)
        run(["docker", "run", "-d", "--name", name, "--network", "none", "-e", "POSTGRES_PASSWORD", "-e", "POSTGRES_USER",
             "-e", "POSTGRES_DB", "-e", "PGDATA", "-v", f"{d.path('inventree-data')}:{MOUNT_IN_CONTAINER}", NEW_IMAGE], env=env)
        d.wait_db_ready(name)
    _stop_app(d, ph)
    _fence_clients(d, ph, ctx)
    with ph("pg_dumpall | psql"):
        dumper = subprocess.Popen(["docker", "exec", d.container(DB), "pg_dumpall", "-U", user], stdout=subprocess.PIPE)
        loader = subprocess.run(["docker", "exec", "-i", name, "psql", "-X", "-q", "-U", user, "-d", "postgres"],
                                stdin=dumper.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dumper.stdout.close()
        if dumper.wait() != 0 or loader.returncode != 0:
            raise Failure(f"pg_dumpall | psql failed ({dumper.returncode}/{loader.returncode}): {loader.stderr[-1500:]!r}")
    with ph("analyze"):
        run(["docker", "exec", name, "vacuumdb", "-U", user, "--all", "--analyze-only", "-q"])
    with ph("stop both servers"):
        run(["docker", "stop", "-t", "60", name])
        run(["docker", "rm", name])
        d.extra_containers.remove(name)
        d.compose("stop", DB)
    with ph("swap directories"):
        os.rename(d.path(PGDATA_REL), d.path(PGDATA_REL + ".pg15"))
        os.rename(d.path(new_rel), d.path(PGDATA_REL))
    _switch_and_start_db(d, ph)
    _start_app(d, ph)
    return ph.items


def pg_upgrade(d, ctx, mode):
    """(3) stop app; stop db; mv aside; one-off upgrade container as uid 999 with the data's mount: initdb with
    the old cluster's settings, pg_upgrade --MODE --jobs N, carry pg_hba.conf/pg_ident.conf; switch tag; up db;
    vacuumdb --all --analyze-in-stages --missing-stats-only; up app."""
    ph, user, s = Phases(), _user(d), ctx["cluster"]
    image = ctx["upgrade_image"]
    _stop_app(d, ph)
    with ph("stop db"):
        d.compose("stop", DB)
    _move_aside(d, ph)
    with ph("mkdir new PGDATA"):
        new = d.path(PGDATA_REL)
        os.mkdir(new, 0o700)
        os.chown(new, 999, 999)
    initdb = ["/usr/lib/postgresql/18/bin/initdb", "-D", "pgdb", "-U", user, "-E", s["encoding"],
              f"--lc-collate={s['collate']}", f"--lc-ctype={s['ctype']}", "--auth-local=trust", "--auth-host=scram-sha-256"]
    initdb.append("--data-checksums" if s["checksums"] else "--no-data-checksums")
    upgrade = ["/usr/lib/postgresql/18/bin/pg_upgrade", "-b", "/usr/lib/postgresql/15/bin", "-B", "/usr/lib/postgresql/18/bin",
               "-d", "pgdb.pg15", "-D", "pgdb", "-U", user, "--socketdir", "/tmp", "--jobs", str(ctx["jobs"]), f"--{mode}"]
    script = " && ".join([
        "cd /var/lib/postgresql/data",
        shlex.join(initdb) + " >/dev/null",
        "(cd /tmp && " + shlex.join(upgrade).replace("-d pgdb.pg15 -D pgdb", "-d /var/lib/postgresql/data/pgdb.pg15 -D /var/lib/postgresql/data/pgdb") + ")",
        "cp pgdb.pg15/pg_hba.conf pgdb.pg15/pg_ident.conf pgdb/",
        # the postgres image's sample config listens on '*'; make sure the new cluster does too
        "(grep -q \"^listen_addresses *= *'\\*'\" pgdb/postgresql.conf || echo \"listen_addresses = '*'\" >> pgdb/postgresql.conf)",
    ])
    with ph(f"initdb + pg_upgrade --{mode}"):
        run(["docker", "run", "--rm", "--network", "none", "-u", "999:999", "--entrypoint", "bash",
             "-v", f"{d.path('inventree-data')}:{MOUNT_IN_CONTAINER}", image, "-c", script], timeout=7200)
    _switch_and_start_db(d, ph)
    with ph("vacuumdb --analyze-in-stages --missing-stats-only"):
        d.db_exec("vacuumdb", "-U", user, "--all", "--analyze-in-stages", "--missing-stats-only", "-j", str(ctx["jobs"]), "-q")
    _start_app(d, ph)
    return ph.items


PROCEDURES = {
    "dump-1": dump_single,
    "dump-N": dump_parallel,
    "pipe": pipe,
    "pg_upgrade-copy": lambda d, ctx: pg_upgrade(d, ctx, "copy"),
    "pg_upgrade-link": lambda d, ctx: pg_upgrade(d, ctx, "link"),
    "pg_upgrade-swap": lambda d, ctx: pg_upgrade(d, ctx, "swap"),
}
