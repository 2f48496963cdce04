"""backup / restore / listbackups: django-dbbackup semantics (4.x for <= 1.0, 5.x for 1.1+)."""
import datetime
import gzip
import io
import json
import os
import random
import re
import socket
import string
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import quote

from . import config, db
from .output import info, plain, stderr, success, CommandFailed, TaskExit
from .version import VERSION, API_VERSION, at_least

DATE_FORMAT = os.environ.get('INVENTREE_BACKUP_DATE_FORMAT', '%Y-%m-%d-%H%M%S')
DATE_RE = re.compile(r'\d{4}-\d{2}-\d{2}-\d{6}')


def manage_cmd(cmd: str) -> str:
    return f'python3 manage.py {cmd} -v 0' if at_least(1, 3) else f'python3 manage.py {cmd}'


def verbose_dbbackup() -> bool:
    # <= 1.2: '-v 2' reaches dbbackup; 1.3+: manage() appends '-v 0', which wins
    return not at_least(1, 3)


def _uri() -> str:
    s = config.db_settings()
    return f"--dbname=postgresql://{quote(s['user'])}@{s['host']}:{s['port']}/{s['name']}"


def _pg_env() -> dict:
    env = dict(os.environ)
    env['PGPASSWORD'] = config.db_settings()['password']
    return env


def _available_name(storage: Path, name: str) -> str:
    # Django FileSystemStorage.get_available_name: '<root>_<7 random chars><last ext>'
    while (storage / name).exists():
        root, ext = os.path.splitext(name)
        root = re.sub(r'_[A-Za-z0-9]{7}$', '', root)
        name = f"{root}_{''.join(random.choices(string.ascii_letters + string.digits, k=7))}{ext}"
    return name


def _write(storage: Path, name: str, data: bytes) -> str:
    storage.mkdir(parents=True, exist_ok=True)
    name = _available_name(storage, name)
    with open(storage / name, 'wb') as f:
        f.write(data)
    return name


def _names(compress: bool):
    now = datetime.datetime.now().strftime(DATE_FORMAT)
    if at_least(1, 1):
        db_name = os.environ.get('INVENTREE_BACKUP_DATABASE_FILENAME_TEMPLATE', 'InvenTree-db-{datetime}.{extension}')
        media_name = os.environ.get('INVENTREE_BACKUP_MEDIA_FILENAME_TEMPLATE',
                                    'InvenTree-media-{datetime}.{extension}')
    else:
        db_name = '{databasename}-{servername}-{datetime}.{extension}'
        media_name = '{servername}-{datetime}.{extension}'
    server = socket.gethostname()
    db_file = db_name.format(databasename='default', servername=server, datetime=now, extension='psql.bin')
    media_file = media_name.format(servername=server, datetime=now, extension='tar')
    if compress:
        db_file += '.gz'
        media_file += '.gz'
    return db_file, media_file


def dbbackup(compress=True, encrypt=False, path=None, clean=False, quiet=False, cmd=''):
    storage = config.backup_dir()
    if encrypt:
        stderr('dbbackup.utils.EncryptionError: gpg is not available (INVENTREE_BACKUP_GPG_RECIPIENT not set)')
        raise CommandFailed(cmd)
    s = config.db_settings()
    argv = ['pg_dump', _uri(), '--format=custom', '--exclude-table-data=django_session']
    if verbose_dbbackup() and not quiet:
        plain(f"Backing Up Database: {s['name']}")
    try:
        res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_pg_env())
    except FileNotFoundError as e:
        stderr(f'dbbackup.db.exceptions.CommandConnectorError: Error running:  {" ".join(argv)}\n{e}')
        raise CommandFailed(cmd)
    if res.returncode != 0:
        stderr(f'dbbackup.db.exceptions.CommandConnectorError: Error running:  {" ".join(argv)}\n'
               + res.stderr.decode('utf-8', 'replace'))
        raise CommandFailed(cmd)
    data = res.stdout
    db_file, _ = _names(compress)
    if compress:
        data = gzip.compress(data)
    if path:
        Path(path).write_bytes(data)
        name = str(path)
    else:
        name = _write(storage, db_file, data)
        if at_least(1, 1):
            meta = {'engine': 'django.db.backends.postgresql', 'connector': 'dbbackup.db.postgresql.PgDumpBinaryConnector'}
            if at_least(1, 3):
                meta.update({'ivt_1_debug': False, 'ivt_1_version': VERSION, 'ivt_1_version_api': API_VERSION,
                             'ivt_1_plugins_enabled': [], 'ivt_1_plugins_file_hash': _plugins_hash(),
                             'ivt_1_installer': 'DOC', 'ivt_1_backup_time': datetime.datetime.now().isoformat()})
            (storage / f'{name}.metadata').write_text(json.dumps(meta), encoding='utf-8')
    if verbose_dbbackup() and not quiet:
        plain(f'Writing file to {name}')
    if clean:
        _cleanup(storage, media=False)
    return name


def _plugins_hash():
    import hashlib
    try:
        return hashlib.sha256(config.plugin_file().read_bytes()).hexdigest()
    except OSError:
        return None


def mediabackup(compress=True, encrypt=False, path=None, clean=False, quiet=False, cmd=''):
    storage = config.backup_dir()
    if encrypt:
        stderr('dbbackup.utils.EncryptionError: gpg is not available')
        raise CommandFailed(cmd)
    root = config.media_root()
    if verbose_dbbackup() and not quiet:
        plain('Backing up media files')
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        if root.exists():
            for dirpath, dirnames, filenames in sorted(os.walk(root)):
                dirnames.sort()
                for fn in sorted(filenames):
                    full = Path(dirpath) / fn
                    rel = full.relative_to(root).as_posix()
                    content = full.read_bytes()
                    ti = tarfile.TarInfo(rel)      # dbbackup: name and size only (no owner, mode, mtime)
                    ti.size = len(content)
                    tar.addfile(ti, io.BytesIO(content))
    data = buf.getvalue()
    _, media_file = _names(compress)
    if compress:
        data = gzip.compress(data)
    if path:
        Path(path).write_bytes(data)
        name = str(path)
    else:
        name = _write(storage, media_file, data)
    if verbose_dbbackup() and not quiet:
        plain(f'Writing file to {name}')
    if clean:
        _cleanup(storage, media=True)
    return name


def list_backups(storage: Path, media: bool, compressed=None, encrypted=False) -> list:
    if not storage.exists():
        return []
    files = [f.name for f in storage.iterdir() if f.is_file() and DATE_RE.search(f.name)]
    files = [f for f in files if not f.endswith('.metadata')]
    if encrypted is not None:
        files = [f for f in files if ('.gpg' in f) == encrypted]
    if compressed is not None:
        files = [f for f in files if ('.gz' in f) == compressed]
    files = [f for f in files if ('.tar' in f) == media]
    return files


def _date_of(name: str) -> datetime.datetime:
    return datetime.datetime.strptime(DATE_RE.search(name).group(0), DATE_FORMAT)


def latest_backup(storage: Path, media: bool, compressed=None, encrypted=False):
    files = list_backups(storage, media, compressed, encrypted)
    if not files:
        return None
    return max(files, key=_date_of)


def _cleanup(storage: Path, media: bool, keep: int = 10):
    files = sorted(list_backups(storage, media), key=_date_of)
    for f in files[:-keep] if len(files) > keep else []:
        (storage / f).unlink(missing_ok=True)
        (storage / f'{f}.metadata').unlink(missing_ok=True)


def _read_backup(storage: Path, name: str, path, uncompress: bool, cmd: str) -> bytes:
    src = Path(path) if path else storage / name
    try:
        data = src.read_bytes()
    except FileNotFoundError:
        stderr(f"FileNotFoundError: [Errno 2] No such file or directory: '{src}'")
        raise CommandFailed(cmd)
    if uncompress:
        try:
            data = gzip.decompress(data)
        except OSError as e:
            stderr(f'gzip.BadGzipFile: {e}')
            raise CommandFailed(cmd)
    return data


def dbrestore(db_file=None, path=None, uncompress=True, decrypt=False, cmd=''):
    storage = config.backup_dir()
    if decrypt:
        stderr('dbbackup.utils.DecryptionError: gpg is not available')
        raise CommandFailed(cmd)
    name = db_file
    if not path and not name:
        name = latest_backup(storage, media=False, compressed=uncompress, encrypted=decrypt)
        if name is None:
            stderr("dbbackup.management.commands._base.CommandError: There's no backup file available.")
            raise CommandFailed(cmd)
    if verbose_dbbackup():
        plain("Restoring backup for database 'default' and server 'None'")
        plain(f'Restoring: {path or name}')
    data = _read_backup(storage, name, path, uncompress, cmd)
    if verbose_dbbackup():
        plain(f'Restore tempfile created: {len(data) / 1024 / 1024:.1f} MiB')
    if at_least(1, 3) and name and not path:
        _validate_restore(storage / f'{name}.metadata', cmd)
    argv = ['pg_restore', _uri(), '--single-transaction', '--clean']
    if at_least(1, 1):
        argv.append('--if-exists')     # dbbackup 5.x; 4.x (InvenTree <= 1.0) had no --if-exists
    res = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_pg_env())
    if res.returncode != 0:
        stderr(f'dbbackup.db.exceptions.CommandConnectorError: Error running:  {" ".join(argv)}\n'
               + res.stderr.decode('utf-8', 'replace'))
        raise CommandFailed(cmd)


def _validate_restore(meta_path: Path, cmd: str):
    from .output import warning, error
    try:
        meta = json.loads(meta_path.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        warning('INVE-W13: Backup metadata not found - cannot validate backup')
        return
    v = meta.get('ivt_1_version')
    if v and v != VERSION:
        warning(f"INVE-W13: Backup was created with InvenTree version '{v}', current version is '{VERSION}'")
    api = meta.get('ivt_1_version_api')
    allow = config.is_true(os.environ.get('INVENTREE_BACKUP_RESTORE_ALLOW_NEWER_VERSION', 'False'))
    if isinstance(api, int) and api > API_VERSION and not allow:
        error(f'INVE-E16: Backup API version {api} is newer than current API version {API_VERSION} - '
              'restore cannot proceed')
        raise CommandFailed(cmd)


def mediarestore(media_file=None, path=None, uncompress=True, decrypt=False, cmd=''):
    storage = config.backup_dir()
    if decrypt:
        stderr('dbbackup.utils.DecryptionError: gpg is not available')
        raise CommandFailed(cmd)
    name = media_file
    if not path and not name:
        name = latest_backup(storage, media=True, compressed=uncompress, encrypted=decrypt)
        if name is None:
            stderr("dbbackup.management.commands._base.CommandError: There's no backup file available.")
            raise CommandFailed(cmd)
    if verbose_dbbackup():
        plain(f'Restoring backup {path or name}')
    data = _read_backup(storage, name, path, uncompress, cmd)
    root = config.media_root()
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:') as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            dest = root / member.name
            if dest.exists():          # mediarestore without --replace never overwrites
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(dest, 'wb') as out:
                out.write(src.read())
