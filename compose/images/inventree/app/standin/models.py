"""The stand-in's Django-like models: table, fields and natural keys, used by dumpdata/loaddata.

Field kinds: str text int bool dt date dec json bytes uuid fk m2m.
"""
from dataclasses import dataclass, field
from typing import Optional


@dataclass(eq=False)
class Field:
    name: str
    kind: str
    column: Optional[str] = None
    target: Optional[str] = None          # fk/m2m: model label
    through: Optional[tuple] = None       # m2m: (table, own column, target column)
    since: tuple = (0, 0, 0)              # first version having the field

    @property
    def col(self) -> str:
        if self.column:
            return self.column
        return self.name + '_id' if self.kind == 'fk' else self.name


@dataclass
class Model:
    label: str                            # app_label.modelname (lower case, as in fixtures)
    table: str
    fields: list
    pk: str = 'id'
    pk_kind: str = 'int'
    app: str = ''
    since: tuple = (0, 0, 0)
    natural_key: Optional[tuple] = None   # field names; fk fields expand to the target's natural key
    plugin: bool = False

    def __post_init__(self):
        self.app = self.label.split('.')[0]


F = Field
AUTH_USER = 'auth.user'

MODELS = [
    Model('contenttypes.contenttype', 'django_content_type',
          [F('app_label', 'str'), F('model', 'str')], natural_key=('app_label', 'model')),
    Model('auth.permission', 'auth_permission',
          [F('name', 'str'), F('content_type', 'fk', target='contenttypes.contenttype'), F('codename', 'str')],
          natural_key=('codename', 'content_type')),
    Model('auth.group', 'auth_group',
          [F('name', 'str'),
           F('permissions', 'm2m', target='auth.permission',
             through=('auth_group_permissions', 'group_id', 'permission_id'))],
          natural_key=('name',)),
    Model('auth.user', 'auth_user',
          [F('password', 'str'), F('last_login', 'dt'), F('is_superuser', 'bool'), F('username', 'str'),
           F('first_name', 'str'), F('last_name', 'str'), F('email', 'str'), F('is_staff', 'bool'),
           F('is_active', 'bool'), F('date_joined', 'dt'),
           F('groups', 'm2m', target='auth.group', through=('auth_user_groups', 'user_id', 'group_id')),
           F('user_permissions', 'm2m', target='auth.permission',
             through=('auth_user_user_permissions', 'user_id', 'permission_id'))],
          natural_key=('username',)),
    Model('users.apitoken', 'users_apitoken',
          [F('created', 'dt'), F('key', 'str'), F('name', 'str'), F('expiry', 'date'), F('revoked', 'bool'),
           F('user', 'fk', target=AUTH_USER), F('last_seen', 'date', since=(1, 3, 0))]),
    Model('sessions.session', 'django_session',
          [F('session_data', 'text'), F('expire_date', 'dt')], pk='session_key', pk_kind='str'),
    Model('common.inventreesetting', 'common_inventreesetting', [F('key', 'str'), F('value', 'str')]),
    Model('common.inventreeusersetting', 'common_inventreeusersetting',
          [F('key', 'str'), F('value', 'str'), F('user', 'fk', target=AUTH_USER)]),
    Model('common.emailthread', 'common_emailthread',
          [F('key', 'str'), F('started_internal', 'bool'), F('created', 'dt'), F('updated', 'dt')],
          pk='global_id', pk_kind='uuid', since=(1, 0, 0)),
    Model('common.emailmessage', 'common_emailmessage',
          [F('message_id_key', 'str'), F('thread', 'fk', target='common.emailthread'), F('subject', 'str'),
           F('body', 'text'), F('to', 'str'), F('sender', 'str'), F('status', 'str'), F('timestamp', 'dt'),
           F('headers', 'json'), F('full_message', 'text'), F('direction', 'str'), F('priority', 'int')],
          pk='global_id', pk_kind='uuid', since=(1, 0, 0)),
    Model('common.dataoutput', 'common_dataoutput',
          [F('created', 'dt'), F('user', 'fk', target=AUTH_USER), F('total', 'int'), F('progress', 'int'),
           F('complete', 'bool'), F('output_type', 'str'), F('output', 'str')], since=(1, 3, 0)),
    Model('plugin.pluginconfig', 'plugin_pluginconfig',
          [F('key', 'str'), F('name', 'str'), F('active', 'bool'), F('metadata', 'json')]),
    Model('plugin.pluginsetting', 'plugin_pluginsetting',
          [F('key', 'str'), F('value', 'str'), F('plugin', 'fk', target='plugin.pluginconfig')]),
    Model('part.partcategory', 'part_partcategory',
          [F('name', 'str'), F('description', 'str'), F('parent', 'fk', target='part.partcategory'),
           F('pathstring', 'str'), F('metadata', 'json')]),
    Model('part.part', 'part_part',
          [F('name', 'str'), F('description', 'str'), F('IPN', 'str'),
           F('category', 'fk', target='part.partcategory'), F('image', 'str'), F('active', 'bool'),
           F('metadata', 'json'), F('notes', 'text'), F('creation_date', 'date'),
           F('revision_of', 'fk', target='part.part', since=(1, 0, 0))]),
    Model('stock.stocklocation', 'stock_stocklocation',
          [F('name', 'str'), F('description', 'str'), F('parent', 'fk', target='stock.stocklocation')]),
    Model('stock.stockitem', 'stock_stockitem',
          [F('part', 'fk', target='part.part'), F('location', 'fk', target='stock.stocklocation'),
           F('quantity', 'dec'), F('serial', 'str'), F('batch', 'str'), F('notes', 'text'), F('updated', 'dt'),
           F('metadata', 'json')]),
    # Plugin-owned model: exists only while the plugin is installed (plugins.txt) and active (PluginConfig).
    Model('barcodeplus.scanlog', 'barcodeplus_scanlog',
          [F('part', 'fk', target='part.part'), F('data', 'bytes'), F('payload', 'json'), F('scanned', 'dt')],
          plugin=True),
]

BY_LABEL = {m.label: m for m in MODELS}

# Plugins this image "ships" (installable through plugins.txt): package name -> (plugin key, app label, title)
PLUGINS = {'inventree-barcodeplus': ('barcodeplus', 'barcodeplus', 'Barcode Plus')}


def models_for(version: tuple, apps: set):
    """Models that exist in this version for the installed apps, in dependency order."""
    return [m for m in MODELS if version >= m.since and m.app in apps]


def fields_for(model: Model, version: tuple):
    return [f for f in model.fields if version >= f.since]
