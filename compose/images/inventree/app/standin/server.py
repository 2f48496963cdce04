"""Default server command (gunicorn stand-in) and the worker loop (qcluster stand-in)."""
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import config, db, migrations, models
from .output import info, warning, error, plain, stderr
from .version import VERSION, API_VERSION, at_least

HEARTBEAT = '/tmp/inventree_worker_heartbeat'


def log(msg: str) -> None:
    stderr(f'{time.strftime("%Y-%m-%d %H:%M:%S")} {msg}')


def connect_for_startup(attempts: int = 30):
    """Django app start: the first query fails while the database is down; retry for a while then give up."""
    for i in range(attempts):
        try:
            return db.connect()
        except db.OperationalError as e:
            log(f'WARNING Database not ready ({e}); retrying')
            time.sleep(1)
    log('ERROR django.db.utils.OperationalError: could not connect to the database')
    sys.exit(1)


def ensure_secret_key() -> None:
    path = config.secret_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50) + '\n', encoding='utf-8')


def register_plugins(con) -> None:
    """Plugin registry load: a PluginConfig row (inactive) for every installed plugin package."""
    if not config.plugins_enabled() or not migrations.table_exists(con, 'plugin_pluginconfig'):
        return
    installed = config.installed_plugin_packages()
    for pkg, (key, _app, title) in models.PLUGINS.items():
        if pkg in installed:
            con.run('INSERT INTO plugin_pluginconfig (key, name, active) VALUES (:k, :n, false) '
                    'ON CONFLICT (key) DO NOTHING', k=key, n=title)


def write_registry_hash(con) -> None:
    """The plugin registry stores a hash of what it loaded as the internal setting `_PLUGIN_REGISTRY_HASH`
    (plugin/registry.py update_plugin_hash) on every start; export-records never exports `_` settings, so a
    raw count of the settings table differs between an export and the installation it came from."""
    if not migrations.table_exists(con, 'common_inventreesetting'):
        return
    loaded = sorted(config.installed_plugin_packages()) if config.plugins_enabled() else []
    value = hashlib.md5(','.join(loaded).encode('utf-8')).hexdigest()
    # Django's set_setting: update the row when it exists, insert it when not. (An INSERT ... ON CONFLICT would
    # take a sequence value on every start: a write the real server never makes.)
    con.run("UPDATE common_inventreesetting SET value = :v WHERE key = '_PLUGIN_REGISTRY_HASH' AND value <> :v", v=value)
    con.run("INSERT INTO common_inventreesetting (key, value) SELECT '_PLUGIN_REGISTRY_HASH', :v "
            "WHERE NOT EXISTS (SELECT 1 FROM common_inventreesetting WHERE key = '_PLUGIN_REGISTRY_HASH')", v=value)


def ensure_migrations_done(con) -> None:
    """InvenTree/apps.py: pending migrations run when INVENTREE_AUTO_UPDATE is true (or the DB is empty in
    docker); otherwise INVE-W8 and exit 1."""
    todo = migrations.pending(con)
    if not todo:
        return
    if config.auto_update():
        log(f'INFO INVE-W8: Database Migrations required - {len(todo)} pending, running (INVENTREE_AUTO_UPDATE)')
    elif migrations.applied_count(con) == 0 and config.in_docker():
        log('INFO INVE-W8: Empty database detected - running migrations')
    else:
        log(f'ERROR INVE-W8: Database Migrations required - {len(todo)} pending migrations')
        sys.exit(1)
    try:
        migrations.apply_pending(con)
    except Exception as e:
        log(f'ERROR Error running migrations: {db.django_error_class(e)}: {db.pg_error_text(e)}')
        sys.exit(1)


def _django_password(raw: str) -> str:
    salt = secrets.token_hex(11)
    it = 260000
    dk = hashlib.pbkdf2_hmac('sha256', raw.encode(), salt.encode(), it)
    return f'pbkdf2_sha256${it}${salt}${base64.b64encode(dk).decode()}'


def ensure_admin(con) -> None:
    user = config.env('INVENTREE_ADMIN_USER')
    email = config.env('INVENTREE_ADMIN_EMAIL')
    password = config.env('INVENTREE_ADMIN_PASSWORD')
    pwfile = config.env('INVENTREE_ADMIN_PASSWORD_FILE')
    if pwfile and not password:
        try:
            password = open(pwfile, encoding='utf-8').read().strip()
        except OSError:
            password = None
    if not (user and email and password) or not migrations.table_exists(con, 'auth_user'):
        return
    if con.run('SELECT 1 FROM auth_user WHERE username = :u', u=user):
        return
    con.run("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES (:p, true, :u, '', '', :e, true, true, now())",
            p=_django_password(password), u=user, e=email)
    log(f"INFO Superuser '{user}' created")


def startup(role: str):
    ensure_secret_key()
    con = connect_for_startup()
    register_plugins(con)
    ensure_migrations_done(con)
    write_registry_hash(con)
    ensure_admin(con)
    return con


class Handler(BaseHTTPRequestHandler):
    server_version = 'gunicorn'

    def _json(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def do_GET(self):
        path = self.path.split('?', 1)[0]
        if path in ('/api/', '/api'):
            self._json(200, {
                'server': 'InvenTree', 'version': VERSION, 'instance': 'InvenTree', 'apiVersion': API_VERSION,
                'worker_running': os.path.exists(HEARTBEAT), 'worker_pending_tasks': 0,
                'plugins_enabled': config.plugins_enabled(), 'plugins_install_disabled': False,
                'active_plugins': [], 'email_configured': False, 'debug_mode': False, 'docker_mode': config.in_docker(),
                'default_locale': 'en-us', 'customize': {}, 'system_health': True,
                'database': 'postgresql', 'platform': '', 'installer': 'DOC', 'target': None,
            })
        elif path in ('/api/system/health/', '/api/system/health'):
            self._json(200, {'status': 'ok', 'version': VERSION})
        else:
            self._json(404, {'detail': 'Not found.'})

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        stderr(f'[gunicorn] {self.address_string()} "{fmt % args}"')


def run_server(bind: str) -> None:
    host, _, port = bind.rpartition(':')
    con = startup('server')
    con.close()
    httpd = ThreadingHTTPServer((host or '0.0.0.0', int(port)), Handler)
    httpd.daemon_threads = True
    log(f'[INFO] Starting gunicorn (InvenTree stand-in {VERSION})')
    log(f'[INFO] Listening at: http://{host or "0.0.0.0"}:{port}')
    httpd.serve_forever()


def run_worker() -> None:
    """qcluster stand-in: keeps a connection open and queries the database every 2 seconds."""
    con = startup('worker')
    log(f'INFO Q Cluster InvenTree starting (stand-in {VERSION})')
    while True:
        try:
            con.run('SELECT count(*) FROM django_migrations')
            with open(HEARTBEAT, 'w') as f:
                f.write(str(time.time()))
        except Exception as e:
            log(f'ERROR Worker database error: {e}; reconnecting')
            try:
                con.close()
            except Exception:
                pass
            try:
                con = db.connect()
            except db.OperationalError:
                pass
        time.sleep(2)
