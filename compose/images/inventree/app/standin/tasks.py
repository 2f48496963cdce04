"""The invoke tasks (wait, migrate, update, backup, restore, version, worker, ...)."""
import os
import platform
import sys
import time
from pathlib import Path

from . import backups, config, db, migrations
from .output import info, warning, error, success, plain, stderr, CommandFailed, TaskExit
from .version import VERSION, API_VERSION, DJANGO_VERSION, COMMIT_HASH, COMMIT_DATE, at_least


def wait_for_db() -> bool:
    """manage.py wait_for_db: 10 attempts, 1 s apart; on failure only a message on stderr (exit 0). From 1.3
    the task runs it at `-v 0`: nothing at all is printed, a database that never answered included."""
    quiet = at_least(1, 3)
    say = (lambda _text: None) if quiet else plain
    say('Waiting for database...')
    for attempt in range(10):
        try:
            con = db.connect()
            con.close()
            say('Database connection successful!')
            return True
        except db.OperationalError as e:
            say(f'Could not connect to database: {e}')
            if attempt < 9:
                time.sleep(1)
    if not quiet:
        stderr('Failed to connect to database after multiple attempts')
    return False


def wait():
    info('Waiting for database connection...')
    wait_for_db()


def migrate_fn(con=None, syncdb_only=False, verbose=False):
    """tasks.py migrate(c): runmigrations (errors logged only), migrate --run-syncdb (errors fatal)."""
    legacy_output = not at_least(1, 3) or verbose
    con = con or _connect_or_fail('python3 manage.py runmigrations')
    if not syncdb_only:
        info('Running InvenTree database migrations...')
        try:
            _apply(con, legacy_output)
        except Exception as e:
            stderr(f'ERROR:inventree:Error running migrations: {db.django_error_class(e)}: {db.pg_error_text(e)}')
    try:
        _apply(con, legacy_output)
    except Exception as e:
        stderr('Traceback (most recent call last):\n  File "/home/inventree/src/backend/InvenTree/manage.py", '
               'line 22, in <module>\n    execute_from_command_line(sys.argv)\n  ...')
        stderr(f'{db.django_error_class(e)}: {db.pg_error_text(e)}')
        raise CommandFailed('python3 manage.py migrate --run-syncdb' + (' -v 0' if at_least(1, 3) else ''))
    if not syncdb_only:
        success('InvenTree database migrations completed' + ('' if at_least(1, 3) else '!'))
    return con


def _apply(con, show):
    todo = migrations.pending(con)
    if show and todo:
        plain('Operations to perform:')
        plain('  Apply all migrations: ' + ', '.join(sorted({m.app for m in todo})))
        plain('Running migrations:')
    migrations.apply_pending(con, log=plain if show else None)


def _connect_or_fail(cmd):
    try:
        return db.connect()
    except db.OperationalError as e:
        stderr(f'django.db.utils.OperationalError: {e}')
        raise CommandFailed(cmd)


def migrate(detect=True, verbose=False):
    migrate_fn(verbose=verbose)


def _package_index_problem():
    """What pip would meet: None when the index answers, else the error. The real task's first command is
    `pip3 install -U pip setuptools` against PIP_INDEX_URL (default PyPI)."""
    import socket
    import urllib.parse
    import urllib.request
    url = os.environ.get('PIP_INDEX_URL') or 'https://pypi.org/simple/'
    parts = urllib.parse.urlsplit(url)
    try:
        socket.getaddrinfo(parts.hostname or url, parts.port or (443 if parts.scheme == 'https' else 80))
        urllib.request.urlopen(url.rstrip('/') + '/pip/', timeout=10).close()
        return None
    except Exception as e:
        return f"NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: {getattr(e, 'reason', e)}')"


def install(uv=False):
    info(f"Installing required python packages from '{config.HOME}/src/backend/requirements.txt'")
    # The real task runs pip against its index here and fails without one; the stand-in ships everything,
    # so a reachable index is all it checks.
    problem = _package_index_problem()
    if problem:
        for attempt in range(1, 6):
            stderr(f"WARNING: Retrying (Retry(total={5 - attempt}, connect=None, read=None, redirect=None, status=None)) "
                   f"after connection broken by '{problem}': /simple/pip/")
        stderr('ERROR: Could not find a version that satisfies the requirement pip (from versions: none)')
        stderr('ERROR: No matching distribution found for pip')
        raise CommandFailed('pip3 install --no-cache-dir --disable-pip-version-check -U pip setuptools')
    plugins_task()
    success('Dependency installation complete')


def plugins_task(uv=False):
    pf = config.plugin_file()
    info(f"Installing plugin packages from '{pf}'")
    if not pf.exists():
        pf.parent.mkdir(parents=True, exist_ok=True)
        pf.write_text('# InvenTree Plugins (uses PIP framework to install)\n', encoding='utf-8')
    success('Plugins installed')


def static(frontend=False, clear=True, skip_plugins=False):
    info('Collecting static files...')
    root = config.static_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / 'standin-static.txt').write_text(f'InvenTree {VERSION} static files\n', encoding='utf-8')
    success('Static files collected successfully')


def update(skip_backup=False, frontend=False, no_frontend=False, skip_static=False, uv=False, backend=False,
           no_backend=False, verbose=False):
    info('Updating InvenTree installation...')
    install()
    if not skip_backup:
        backup()
    migrate_fn(verbose=verbose)
    if config.in_docker():
        info('Skipping frontend update (INVENTREE_DOCKER flag set)')
    if not skip_static:
        static()
    if at_least(1, 3):
        success('InvenTree update complete')
        clean_settings()
    else:
        success('InvenTree update complete!')


def clean_settings():
    success('Settings cleaned successfully')


def backup(clean=False, path=None, compress=True, encrypt=False, quiet=False, skip_db=False, skip_media=False):
    if path and not os.path.isabs(path):
        path = str((config.HOME / path).resolve())
    if at_least(1, 1):
        opts = '--noinput -v 2' + (' --compress' if compress else '') + (' --encrypt' if encrypt else '')
    else:
        compress, encrypt, quiet, skip_db, skip_media = True, False, False, False, False
        opts = '--noinput --compress -v 2'
    if path:
        opts += f' -O {path}'
    if clean:
        opts += ' --clean'
    if quiet:
        opts += ' --quiet'
    ran = False
    if not skip_db:
        info('Backing up InvenTree database...')
        backups.dbbackup(compress, encrypt, path, clean, quiet, cmd=backups.manage_cmd(f'dbbackup {opts}'))
        ran = True
    if not skip_media:
        info('Backing up InvenTree media files...')
        backups.mediabackup(compress, encrypt, path, clean, quiet, cmd=backups.manage_cmd(f'mediabackup {opts}'))
        ran = True
    if ran:
        success('Backup completed successfully')


def restore(path=None, db_file=None, media_file=None, ignore_media=False, ignore_database=False, decrypt=False,
            skip_db=False, skip_media=False, uncompress=True, restore_allow_newer_version=False):
    if not at_least(1, 1):
        skip_db, skip_media, uncompress, decrypt = ignore_database, ignore_media, True, False
    if path and not os.path.isabs(path):
        path = str((config.HOME / path).resolve())
    if restore_allow_newer_version:
        os.environ['INVENTREE_BACKUP_RESTORE_ALLOW_NEWER_VERSION'] = 'True'
    base = '--noinput -v 2' + (' --uncompress' if uncompress else '') + (' --decrypt' if decrypt else '')
    if path:
        base += f' -I {path}'
    if skip_db:
        if not at_least(1, 1):
            info('Skipping database archive...')
    else:
        info('Restoring InvenTree database')
        cmd = f'dbrestore {base}' + (f' -i {db_file}' if db_file else '')
        backups.dbrestore(db_file, path, uncompress, decrypt, cmd=backups.manage_cmd(cmd))
    if skip_media:
        if not at_least(1, 1):
            info('Skipping media restore...')
    else:
        info('Restoring InvenTree media files')
        cmd = f'mediarestore {base}' + (f' -i {media_file}' if media_file else '')
        backups.mediarestore(media_file, path, uncompress, decrypt, cmd=backups.manage_cmd(cmd))


def listbackups():
    info('Finding available backup files...')
    storage = config.backup_dir()
    plain('Name')
    for media in (False, True):
        for f in sorted(backups.list_backups(storage, media), key=backups._date_of):
            plain(f)


def version():
    def nz(fn):
        try:
            return fn()
        except Exception:
            return 'NOT SPECIFIED'
    plain(f"""
InvenTree - inventree.org
The Open-Source Inventory Management System


Python paths:
Executable  {sys.executable}
Environment {sys.prefix}

Installation paths:
Base        {config.HOME}
Config      {config.config_file()}
Plugin File {config.plugin_file()}
Media       {config.media_root()}
Static      {config.static_root()}
Backup      {nz(config.backup_dir)}

Versions:
InvenTree   {VERSION}
API         {API_VERSION}
Python      {platform.python_version()}
Django      {DJANGO_VERSION}

Commit hash: {COMMIT_HASH}
Commit date: {COMMIT_DATE}""")
    if config.in_docker():
        plain('\nPlatform:\nDocker')


def worker():
    from .server import run_worker
    wait_for_db()
    run_worker()
