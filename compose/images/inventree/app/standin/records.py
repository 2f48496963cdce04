"""export-records / import-records, per version (pre-1.3 and 1.3+ behaviour of tasks.py)."""
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from . import config, db, fixtures, migrations
from .output import info, warning, error, success, plain, stderr, CommandFailed, TaskExit
from .version import VERSION, API_VERSION, DJANGO_VERSION, COMMIT_HASH, at_least


def content_excludes(allow_auth=True, allow_email=False, allow_plugins=True, allow_session=True, allow_sso=True,
                     allow_tokens=True) -> list:
    excludes = ['contenttypes', 'auth.permission', 'error_report.error', 'admin.logentry', 'django_q.schedule',
                'django_q.task', 'django_q.ormq', 'exchange.rate', 'exchange.exchangebackend']
    if at_least(1, 3):
        excludes += ['common.dataoutput', 'common.newsfeedentry', 'common.notificationentry',
                     'common.notificationmessage', 'importer.dataimportsession', 'importer.dataimportcolumnmap',
                     'importer.dataimportrow']
        if not allow_email:
            excludes += ['common.emailmessage', 'common.emailthread']
    else:
        excludes += ['common.notificationentry', 'common.notificationmessage', 'importer.dataimportsession',
                     'importer.dataimportcolumnmap', 'importer.dataimportrow']
        if at_least(1, 2) and not allow_email:   # 1.2.0 (#10854): email logs left out unless --include-email
            excludes += ['common.emailmessage', 'common.emailthread']
    if not at_least(1, 0):
        excludes += ['user_sessions.session', 'report.labeloutput', 'report.reportoutput', 'sessions.session']
    if not allow_auth:
        excludes += ['auth.group', 'auth.user', 'users.userprofile']
    if not allow_tokens:
        excludes += ['users.apitoken']
    if not allow_plugins:
        excludes += ['plugin.pluginconfig', 'plugin.pluginsetting', 'plugin.pluginusersetting']
    if not allow_sso:
        excludes += ['socialaccount.socialapp', 'socialaccount.socialtoken']
    if not allow_session:
        excludes += ['sessions.session', 'usersessions.usersession']
    return excludes


def manage_cmd(cmd: str, verbose=False) -> str:
    if at_least(1, 3):
        return f'python3 manage.py {cmd} -v {1 if verbose else 0}'
    return f'python3 manage.py {cmd}'


def check_file_existence(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        try:
            answer = input('Warning: file already exists. Do you want to overwrite? [y/N]: ')
        except EOFError:
            plain()
            stderr('Traceback (most recent call last):\n  File "/home/inventree/tasks.py", in check_file_existence\n'
                   "    response = input('Warning: file already exists. Do you want to overwrite? [y/N]: ')\n"
                   'EOFError: EOF when reading a line')
            raise TaskExit(1)
        if answer.strip().lower() not in ('y', 'yes'):
            error('Cancelled export operation')
            raise TaskExit(1)


def resolve_target(filename: str, resolve=True) -> Path:
    p = Path(filename)
    if not p.is_absolute():
        p = config.HOME / filename
        if resolve:
            p = p.resolve()
    return p


def list_apps(con) -> list:
    return migrations.app_names(migrations.installed_apps(con))


def export_records(filename='data.json', overwrite=False, include_email=False, include_permissions=False,
                   include_tokens=False, exclude_plugins=False, include_sso=False, include_session=False,
                   retain_temp=False, verbose=False, delete_temp=False):
    from .tasks import wait_for_db
    target = resolve_target(filename)
    info(f"Exporting database records to file '{target}'")
    if at_least(1, 3):
        wait_for_db()
    check_file_existence(target, overwrite)
    excludes = content_excludes(allow_email=include_email if at_least(1, 2) else True,
                                allow_tokens=include_tokens, allow_plugins=not exclude_plugins,
                                allow_session=include_session, allow_sso=include_sso)
    ex_args = ' '.join(f'--exclude {e}' for e in excludes)
    if at_least(1, 3):
        tmp = tempfile.NamedTemporaryFile(suffix='.json', delete=False)
        tmp.close()
        tmpfile = Path(tmp.name)
    else:
        tmpfile = Path(f'{target}.tmp')
    cmd = manage_cmd(f"dumpdata --natural-foreign --indent 2 --output '{tmpfile}' {ex_args}", verbose)
    try:
        con = db.connect()
        data = fixtures.dump(con, fixtures.dumpable_labels(con, set(excludes)))
        # Django's JSON serializer: ensure_ascii=False, indent 2
        tmpfile.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding='utf-8')
    except Exception as e:
        stderr(f'CommandError: Unable to serialize database: {db.pg_error_text(e)}')
        raise CommandFailed(cmd)
    info('Running data post-processing step...')
    data = json.loads(tmpfile.read_text(encoding='utf-8'))
    data_out = []
    if at_least(1, 3):
        now = datetime.datetime.now()
        data_out.append({
            'metadata': True,
            'comment': 'This file contains a dump of the InvenTree database',
            'exported_at': now.isoformat(),
            'exported_at_utc': datetime.datetime.now(datetime.timezone.utc).isoformat(),
            'source_version': VERSION,
            'api_version': API_VERSION,
            'django_version': DJANGO_VERSION,
            'python_version': platform.python_version(),
            'source_commit': COMMIT_HASH,
            'installed_apps': list_apps(con),
        })
    # 0.14 to the last 0.17 (fixed for 1.0 by #9704): the post-processing loop kept entries only under
    # `if include_permissions is False`, so --include-permissions wrote an empty list.
    if include_permissions and not at_least(1, 0):
        data = []
    for entry in data:
        model = entry.get('model')
        if model in ('common.inventreesetting', 'common.inventreeusersetting'):
            if str(entry['fields'].get('key', '')).startswith('_'):
                continue
        if not include_permissions:
            if model == 'auth.group':
                entry['fields']['permissions'] = []
            if model == 'auth.user':
                entry['fields']['user_permissions'] = []
        data_out.append(entry)
    # tasks.py writes json.dumps(data_out, indent=2): ASCII with \u escapes
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, 'w', encoding='utf-8') as f:
        f.write(json.dumps(data_out, indent=2))
    if at_least(1, 3):
        tmpfile.unlink(missing_ok=True)
    elif not at_least(0, 14):
        if delete_temp:   # <= 0.13: the temporary file stays unless --delete-temp
            os.remove(tmpfile)
    elif not retain_temp:
        os.remove(tmpfile)
    info('Data export completed')


def _load_step(con, objects, title, verbose=False, app=None, ignore=False, excludes=()):
    if not objects:
        return
    tmp = tempfile.NamedTemporaryFile(suffix='.json', delete=False, mode='w', encoding='utf-8')
    tmp.write(json.dumps(objects))   # internal temp file (C encoder; indent would be pure Python)
    tmp.close()
    args = f'loaddata {tmp.name} -v 0 --force-color'
    if app:
        args += f' --app {app}'
    if ignore:
        args += ' --ignorenonexistent'
    if excludes:
        args += ' -i ' + ' '.join(f'--exclude {e}' for e in excludes)
    cmd = manage_cmd(args, verbose)
    info(f'Loading {len(objects)} {title} records...')
    try:
        fixtures.load(con, objects, tmp.name, ignorenonexistent=ignore, app_label=app, excludes=excludes)
    except fixtures.LoadError as e:
        stderr(str(e))
        raise CommandFailed(cmd)


def _delete_data(verbose=False, run_migrate=True):
    from .tasks import migrate_fn
    info('Deleting existing data from InvenTree database...')
    con = db.connect()
    if run_migrate:
        migrate_fn(con, syncdb_only=True, verbose=verbose)
    fixtures.flush(con)
    info('Existing data deleted')
    return con


def import_records(filename='data.json', clear=False, strict=False, exclude_plugins=False,
                   ignore_nonexistent=False, skip_migrations=False, retain_temp=False, verbose=False):
    if at_least(1, 3):
        return _import_13(filename, clear, strict, exclude_plugins, ignore_nonexistent, skip_migrations, verbose)
    return _import_old(filename, clear, retain_temp)


def _read_json(target: Path):
    try:
        with open(target, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        error(f'ERROR: Failed to decode JSON file: {e}')
        raise TaskExit(1)


def _import_old(filename, clear, retain_temp):
    target = resolve_target(filename, resolve=False)
    if not target.exists():
        error(f"ERROR: File '{target}' does not exist")
        raise TaskExit(1)
    if clear:
        if at_least(1, 0):
            _delete_data(run_migrate=True)
        else:
            _delete_data(run_migrate=False)
    info(f"Importing database records from '{target}'")
    authfile = Path(f'{target}.auth.json')
    datafile = Path(f'{target}.data.json')
    data = _read_json(target)
    auth_data, load_data = [], []
    for entry in data:
        if 'model' in entry:
            if entry['model'] == 'auth.group':
                entry['fields']['permissions'] = []
            if entry['model'] == 'auth.user':
                entry['fields']['user_permissions'] = []
            if entry['model'].startswith('auth.'):
                auth_data.append(entry)
            else:
                load_data.append(entry)
        else:
            warning('WARNING: Invalid entry in data file')
            plain(str(entry))
    authfile.write_text(json.dumps(auth_data), encoding='utf-8')
    datafile.write_text(json.dumps(load_data), encoding='utf-8')
    con = db.connect()
    try:
        try:
            fixtures.load(con, auth_data, str(authfile))
        except fixtures.LoadError as e:
            stderr(str(e))
            raise CommandFailed(f"python3 manage.py loaddata '{authfile}'")
        excludes = content_excludes(allow_auth=False)
        try:
            fixtures.load(con, load_data, str(datafile), ignorenonexistent=True, excludes=excludes)
        except fixtures.LoadError as e:
            stderr(str(e))
            raise CommandFailed(f"python3 manage.py loaddata '{datafile}' -i "
                                + ' '.join(f'--exclude {x}' for x in excludes))
    finally:
        if not retain_temp:
            authfile.unlink(missing_ok=True)
            datafile.unlink(missing_ok=True)
    info('Data import completed')


def _validate_metadata(con, metadata, strict, apps=False):
    issues = []
    if apps:
        if metadata:
            local = set(list_apps(con))
            for app in metadata.get('installed_apps', []) or []:
                if app not in local:
                    issues.append(f"Source app '{app}' is not installed in the current environment")
    elif not metadata:
        issues.append('No metadata found in the import file - cannot validate source version')
    elif metadata.get('source_version') != VERSION:
        issues.append(f"Source version '{metadata.get('source_version')}' does not match the current InvenTree "
                      f"version '{VERSION}' - this may lead to issues with the imported data")
    for issue in issues:
        if strict:
            error(f'INVE-E16 Data Import Error: {issue}')
            raise TaskExit(1)
        warning(f'INVE-W13 Data Import Warning: {issue}')


def _import_13(filename, clear, strict, exclude_plugins, ignore_nonexistent, skip_migrations, verbose):
    from .tasks import migrate_fn
    target = resolve_target(filename, resolve=False)
    if not target.exists():
        error(f"ERROR: File '{target}' does not exist")
        raise TaskExit(1)
    con = None
    if clear:
        con = _delete_data(verbose=verbose, run_migrate=True)
    con = con or db.connect()
    if not skip_migrations:
        migrate_fn(con, verbose=verbose)
    info(f"Importing database records from '{target}'")
    data = _read_json(target)
    metadata, auth_data, common_data, plugin_data, remaining = None, [], [], [], []
    for entry in data:
        if isinstance(entry, dict) and entry.get('metadata'):
            metadata = entry
            continue
        if not isinstance(entry, dict) or 'model' not in entry:
            if strict:
                error('ERROR: Invalid entry in data file - missing "model" key')
                raise TaskExit(1)
            warning('WARNING: Invalid entry in data file - missing "model" key')
            plain(str(entry))
            continue
        model = entry['model']
        if model == 'auth.group':
            entry['fields']['permissions'] = []
        if model == 'auth.user':
            entry['fields']['user_permissions'] = []
        if model.startswith('auth.') or model.startswith('users.'):
            auth_data.append(entry)
        elif model.startswith('common.'):
            common_data.append(entry)
        elif model.startswith('plugin.'):
            plugin_data.append(entry)
        else:
            remaining.append(entry)
        if model.startswith('auth.'):   # tasks.py quirk: auth.* also lands in "remaining"
            remaining.append(entry)
    _validate_metadata(con, metadata, strict)
    _load_step(con, auth_data, 'auth', verbose, ignore=ignore_nonexistent)
    _load_step(con, common_data, 'common', verbose, app='common', ignore=ignore_nonexistent)
    if not exclude_plugins:
        _load_step(con, plugin_data, 'plugins', verbose, app='plugin', ignore=ignore_nonexistent)
        if plugin_data and not skip_migrations:
            migrate_fn(con, verbose=verbose)
    _validate_metadata(con, metadata, strict, apps=True)
    _load_step(con, remaining, 'remaining', verbose, ignore=True, excludes=content_excludes(allow_auth=False))
    info('Data import completed')
