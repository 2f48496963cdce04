"""`invoke` command line: task names and per-version flag sets (long flags and auto-assigned short flags)."""
import os
import signal
import sys

from . import records, tasks
from .output import command_failed, warning, plain, CommandFailed, TaskExit
from .version import at_least

# option spec: (long name, short letter or None, kind, help); kind: bool | str | negbool (default True)


def _export_opts():
    if at_least(1, 3):
        return [('filename', 'f', 'str', 'Output filename (default = \'data.json\')'),
                ('overwrite', 'o', 'bool', 'Overwrite existing files without asking first (default = False)'),
                ('include-email', 'i', 'bool', 'Include email logs in the output file (default = False)'),
                ('include-permissions', 'n', 'bool', 'Include user and group permissions in the output file'),
                ('include-tokens', 'c', 'bool', 'Include API tokens in the output file (default = False)'),
                ('exclude-plugins', 'e', 'bool', 'Exclude plugin data from the output file (default = False)'),
                ('include-sso', 'l', 'bool', 'Include SSO token data in the output file (default = False)'),
                ('include-session', 'u', 'bool', 'Include user session data in the output file (default = False)'),
                ('verbose', 'v', 'bool', 'Print verbose output from management commands')]
    if not at_least(0, 14):   # the include/exclude options arrived in 0.14 (#6244)
        return [('filename', 'f', 'str', 'Output filename (default = \'data.json\')'),
                ('overwrite', 'o', 'bool', 'Overwrite existing files without asking first (default = False)'),
                ('delete-temp', 'd', 'bool', 'Delete temporary files (default = False)')]
    opts = [('filename', 'f', 'str', 'Output filename (default = \'data.json\')'),
            ('overwrite', 'o', 'bool', 'Overwrite existing files without asking first (default = False)'),
            ('include-permissions', 'i', 'bool', 'Include user and group permissions in the output file'),
            ('include-tokens', 'n', 'bool', 'Include API tokens in the output file (default = False)'),
            ('exclude-plugins', 'e', 'bool', 'Exclude plugin data from the output file (default = False)'),
            ('include-sso', 'c', 'bool', 'Include SSO token data in the output file (default = False)')]
    if at_least(1, 0):
        opts.append(('include-session', 'l', 'bool', 'Include user session data in the output file'))
    if at_least(1, 2):
        opts.append(('include-email', 'm', 'bool', 'Include email logs in the output file (default = False)'))
    opts.append(('retain-temp', 'r', 'bool', 'Retain temporary files at end of process (default = False)'))
    return opts


def _import_opts():
    if at_least(1, 3):
        return [('filename', 'f', 'str', 'Input filename'),
                ('clear', 'c', 'bool', 'Clear existing data before import'),
                ('strict', 's', 'bool', 'Strict mode - fail if any issues are detected with the metadata'),
                ('exclude-plugins', 'e', 'bool', 'Exclude plugin data from the import process (default = False)'),
                ('ignore-nonexistent', 'i', 'bool', 'Ignore non-existent database models (default = False)'),
                ('skip-migrations', 'k', 'bool', 'Skip the migration step after clearing data (default = False)'),
                ('verbose', 'v', 'bool', 'Print verbose output from management commands')]
    return [('filename', 'f', 'str', 'Input filename'),
            ('clear', 'c', 'bool', 'Clear existing data before import'),
            ('retain-temp', 'r', 'bool', 'Retain temporary files at end of process (default = False)')]


def _backup_opts():
    if at_least(1, 1):
        return [('clean', 'c', 'bool', 'Clean up old backup files'),
                ('compress', 'o', 'negbool', 'Compress the backup files (default = True)'),
                ('encrypt', 'e', 'bool', 'Encrypt the backup files'),
                ('path', 'p', 'str', 'Specify path for generated backup files (leave blank for default path)'),
                ('quiet', 'q', 'bool', 'Suppress informational output'),
                ('skip-db', 's', 'bool', 'Skip database backup step (only backup media files)'),
                ('skip-media', 'k', 'bool', 'Skip media backup step (only backup database files)')]
    return [('clean', 'c', 'bool', 'Clean up old backup files'),
            ('path', 'p', 'str', 'Specify path for generated backup files (leave blank for default path)')]


def _restore_opts():
    if not at_least(0, 15):   # up to 0.14 restore takes no options: it restores the newest backup (#7077)
        return []
    base = [('path', 'p', 'str', 'Specify path to locate backup files (leave blank for default path)'),
            ('db-file', 'd', 'str', 'Specify filename of compressed database archive (leave blank to use most recent backup)'),
            ('media-file', 'm', 'str', 'Specify filename of compressed media archive (leave blank to use most recent backup)')]
    if not at_least(1, 1):
        return base + [('ignore-media', 'i', 'bool', 'Do not import media archive (database restore only)'),
                       ('ignore-database', 'g', 'bool', 'Do not import database archive (media restore only)')]
    opts = base + [('decrypt', 'e', 'bool', 'Decrypt the backup files'),
                   ('skip-db', 's', 'bool', 'Do not import database archive (media restore only)'),
                   ('skip-media', 'k', 'bool', 'Do not import media archive (database restore only)'),
                   ('uncompress', 'u', 'negbool', 'Uncompress the backup files (default = True)')]
    if at_least(1, 3):
        opts.append(('restore-allow-newer-version', 'r', 'bool', 'Allow restore from a newer InvenTree version backup'))
    return opts


def _update_opts():
    if at_least(1, 3):
        return [('skip-backup', 's', 'bool', 'Skip database backup step (advanced users)'),
                ('backend', 'b', 'bool', 'Force backend installation steps'),
                ('no-backend', 'n', 'bool', 'Skip backend installation steps'),
                ('frontend', 'f', 'bool', 'Force frontend compilation/download step (ignores INVENTREE_DOCKER)'),
                ('no-frontend', 'o', 'bool', 'Skip frontend compilation/download step'),
                ('skip-static', 'k', 'bool', 'Skip static file collection step'),
                ('uv', 'u', 'bool', 'Use UV (experimental package manager)'),
                ('verbose', 'v', 'bool', 'Print verbose output from management commands')]
    return [('skip-backup', 's', 'bool', 'Skip database backup step (advanced users)'),
            ('frontend', 'f', 'bool', 'Force frontend compilation/download step (ignores INVENTREE_DOCKER)'),
            ('no-frontend', 'n', 'bool', 'Skip frontend compilation/download step'),
            ('skip-static', 'k', 'bool', 'Skip static file collection step'),
            ('uv', 'u', 'bool', 'Use UV (experimental package manager)')]


def _migrate_opts():
    if at_least(1, 3):
        return [('detect', 'd', 'negbool', 'Detect and create new migrations (default = True)'),
                ('verbose', 'v', 'bool', 'Print verbose output from management commands')]
    return []


def _migrate(**kw):
    if at_least(1, 3):
        tasks.wait()
    tasks.migrate(**kw)


def _import(**kw):
    if at_least(1, 3):
        tasks.wait()
    records.import_records(**kw)


TASKS = {
    'version': (tasks.version, lambda: [], 'Show InvenTree version information.'),
    'wait': (tasks.wait, lambda: [], 'Wait until the database connection is ready.'),
    'migrate': (_migrate, _migrate_opts, 'Performs database migrations.'),
    'update': (tasks.update, _update_opts, 'Update InvenTree installation.'),
    'backup': (tasks.backup, _backup_opts, 'Backup the database and media files.'),
    'restore': (tasks.restore, _restore_opts, 'Restore the database and media files.'),
    'export-records': (records.export_records, _export_opts, 'Export all database records to a file.'),
    'import-records': (_import, _import_opts, 'Import database records from a file.'),
    'worker': (tasks.worker, lambda: [], 'Run the InvenTree background worker process.'),
    'install': (tasks.install, lambda: [('uv', 'u', 'bool', 'Use UV package manager (experimental)')],
                'Installs required python packages.'),
    'plugins': (tasks.plugins_task, lambda: [('uv', 'u', 'bool', 'Use UV package manager (experimental)')],
                'Installs all plugins as specified in \'plugins.txt\'.'),
    'static': (tasks.static, lambda: [('frontend', 'f', 'bool', 'Build the frontend'),
                                      ('clear', 'c', 'negbool', 'Remove existing static files'),
                                      ('skip-plugins', 's', 'bool', 'Ignore collection of plugin static files')],
               'Copies required static files to the STATIC_ROOT directory, as per Django requirements.'),
    'int.clean-settings': (tasks.clean_settings, lambda: [], 'Clean the setting tables of old settings.'),
}


def _available():
    t = dict(TASKS)
    if at_least(1, 1):
        t['listbackups'] = (tasks.listbackups, lambda: [], 'List available backup files.')
    return t


def usage_error(msg: str) -> None:
    sys.stderr.write(msg + '\n')
    sys.exit(1)


def print_help(name, opts, doc):
    plain(f'Usage: inv[oke] [--core-opts] {name} [--options] [other tasks here ...]\n\nDocstring:\n  {doc}\n')
    plain('Options:' if opts else 'Options:\n  none')
    for long, short, kind, help_ in opts:
        flag = (f'-{short}, ' if short else '') + f'--[no-]{long}' if kind == 'negbool' else \
            (f'-{short}, ' if short else '') + f'--{long}'
        if kind == 'str':
            flag = (f'-{short} STRING, ' if short else '') + f'--{long}=STRING'
        plain(f'  {flag:<32}{help_}')


def parse(argv):
    available = _available()
    calls = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ('--list', '-l'):
            plain('Available tasks:\n')
            for n, (_f, _o, d) in sorted(available.items()):
                plain(f'  {n:<20}{d}')
            sys.exit(0)
        if arg in ('--version', '-V'):
            plain('Invoke 2.2.0')
            sys.exit(0)
        if arg.startswith('-'):
            usage_error(f"No idea what '{arg}' is!")
        if arg not in available:
            usage_error(f"No idea what '{arg}' is!")
        fn, opts_fn, doc = available[arg]
        opts = opts_fn()
        by_long = {o[0]: o for o in opts}
        by_short = {o[1]: o for o in opts if o[1]}
        kwargs = {}
        i += 1
        while i < len(argv) and argv[i].startswith('-'):
            a = argv[i]
            if a in ('--help', '-h'):
                print_help(arg, opts, doc)
                sys.exit(0)
            value = None
            if a.startswith('--'):
                name, eq, value = a[2:].partition('=')
                value = value if eq else None
                spec = by_long.get(name)
                negated = False
                if spec is None and name.startswith('no-') and by_long.get(name[3:], (0, 0, ''))[2] == 'negbool':
                    spec, negated = by_long[name[3:]], True
                if spec is None:
                    usage_error(f"No idea what '{a}' is!")
            else:
                spec = by_short.get(a[1:2])
                negated = False
                if spec is None or len(a) < 2:
                    usage_error(f"No idea what '{a}' is!")
                if len(a) > 2:
                    value = a[2:]
            key = spec[0].replace('-', '_')
            if spec[2] == 'str':
                if value is None:
                    if i + 1 >= len(argv):
                        usage_error(f"Flag '--{spec[0]}' needed value and was not given one!")
                    i += 1
                    value = argv[i]
                kwargs[key] = value
            else:
                if value is not None:
                    usage_error(f"No idea what '{a}' is!")
                kwargs[key] = not negated
            i += 1
        calls.append((fn, kwargs))
    if not calls:
        calls.append((tasks.version, {}))
    return calls


def _on_term(signum, frame):
    os._exit(128 + signum)


def main(argv=None):
    signal.signal(signal.SIGTERM, _on_term)
    argv = sys.argv[1:] if argv is None else argv
    calls = parse(argv)
    try:
        for fn, kwargs in calls:
            fn(**kwargs)
    except CommandFailed as e:
        command_failed(e.command)
        sys.exit(e.code)
    except TaskExit as e:
        sys.exit(e.code)
    except KeyboardInterrupt:
        warning('INVE-W15: Process interrupted by user.')
        sys.exit(1)
    sys.exit(0)
