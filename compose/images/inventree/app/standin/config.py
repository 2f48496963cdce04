"""Paths and database settings from the environment, as the real image's Dockerfile/config.py set them."""
import os
from pathlib import Path


def env(name: str, default=None):
    v = os.environ.get(name)
    return v if v not in (None, '') else default


def is_true(v) -> bool:
    return str(v).strip().lower() in ('1', 'y', 'yes', 't', 'true', 'on')


HOME = Path(env('INVENTREE_HOME', '/home/inventree'))
DATA_DIR = Path(env('INVENTREE_DATA_DIR', str(HOME / 'data')))


def media_root() -> Path:
    return Path(env('INVENTREE_MEDIA_ROOT', str(DATA_DIR / 'media')))


def static_root() -> Path:
    return Path(env('INVENTREE_STATIC_ROOT', str(DATA_DIR / 'static')))


def backup_dir() -> Path:
    v = env('INVENTREE_BACKUP_DIR')
    if v is None:
        raise FileNotFoundError('INVENTREE_BACKUP_DIR not specified')
    return Path(v)


def config_file() -> Path:
    return Path(env('INVENTREE_CONFIG_FILE', str(DATA_DIR / 'config.yaml')))


def plugin_file() -> Path:
    return Path(env('INVENTREE_PLUGIN_FILE', str(DATA_DIR / 'plugins.txt')))


def secret_key_file() -> Path:
    return Path(env('INVENTREE_SECRET_KEY_FILE', str(DATA_DIR / 'secret_key.txt')))


def plugins_enabled() -> bool:
    return is_true(env('INVENTREE_PLUGINS_ENABLED', 'False'))


def auto_update() -> bool:
    return is_true(env('INVENTREE_AUTO_UPDATE', 'False'))


def in_docker() -> bool:
    return is_true(env('INVENTREE_DOCKER', 'False'))


def db_settings() -> dict:
    return {
        'engine': env('INVENTREE_DB_ENGINE', 'postgresql'),
        'name': env('INVENTREE_DB_NAME', 'inventree'),
        'user': env('INVENTREE_DB_USER', 'inventree'),
        'password': env('INVENTREE_DB_PASSWORD', ''),
        'host': env('INVENTREE_DB_HOST', 'localhost'),
        'port': int(env('INVENTREE_DB_PORT', '5432')),
        'timeout': int(env('INVENTREE_DB_TIMEOUT', '10')),
    }


def installed_plugin_packages() -> set:
    """Plugin packages listed in plugins.txt (the stand-in treats 'listed' as 'pip-installed')."""
    names = set()
    try:
        for line in plugin_file().read_text(encoding='utf-8').splitlines():
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            for sep in ('==', '>=', '<=', '~=', '>', '<', '@', '['):
                line = line.split(sep, 1)[0]
            names.add(line.strip().lower().replace('_', '-'))
    except FileNotFoundError:
        pass
    return names
