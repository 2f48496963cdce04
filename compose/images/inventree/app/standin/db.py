"""PostgreSQL access through pg8000 (pure Python, scram-sha-256), configured like Django's DATABASES."""
import time

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from . import config


class OperationalError(Exception):
    pass


def connect(settings=None):
    s = settings or config.db_settings()
    if s['engine'] not in ('postgresql', 'postgres', 'django.db.backends.postgresql'):
        raise OperationalError(f"stand-in supports only postgresql, not '{s['engine']}'")
    try:
        con = pg8000.native.Connection(
            user=s['user'], password=s['password'], host=s['host'], port=s['port'],
            database=s['name'], timeout=s['timeout'], application_name='inventree')
    except (InterfaceError, DatabaseError, OSError) as e:
        raise OperationalError(str(e)) from e
    return con


def connect_with_retry(attempts: int, delay: float = 1.0, log=None):
    last = None
    for i in range(attempts):
        try:
            return connect()
        except OperationalError as e:
            last = e
            if log:
                log(f'Could not connect to database: {e}')
            if i + 1 < attempts:
                time.sleep(delay)
    raise last


def pg_error_text(e: Exception) -> str:
    """Render a pg8000 DatabaseError like psycopg's message (message + DETAIL)."""
    if isinstance(e, DatabaseError) and e.args and isinstance(e.args[0], dict):
        d = e.args[0]
        msg = d.get('M', str(e))
        if d.get('D'):
            msg += f"\nDETAIL:  {d['D']}"
        return msg
    return str(e)


def sqlstate(e: Exception) -> str:
    if isinstance(e, DatabaseError) and e.args and isinstance(e.args[0], dict):
        return e.args[0].get('C', '')
    return ''


def django_error_class(e: Exception) -> str:
    code = sqlstate(e)
    if code.startswith('23'):
        return 'django.db.utils.IntegrityError'
    if code.startswith('42'):
        return 'django.db.utils.ProgrammingError'
    return 'django.db.utils.DatabaseError'


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
