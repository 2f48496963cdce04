"""Django-fixture serialization (dumpdata --natural-foreign) and loading (loaddata) against the database."""
import base64
import datetime
import decimal
import json
import uuid

from . import migrations, models
from .db import qi, pg_error_text, django_error_class
from .version import V


class DeserializationError(Exception):
    pass


class LoadError(Exception):
    """loaddata failed: message already formatted like Django's."""


# ---------- dumping ----------

def _dt(v: datetime.datetime) -> str:
    # DjangoJSONEncoder: ISO format, microseconds truncated to milliseconds, +00:00 -> Z
    r = v.astimezone(datetime.timezone.utc).isoformat()
    if v.microsecond:
        r = r[:23] + r[26:]
    if r.endswith('+00:00'):
        r = r[:-6] + 'Z'
    return r


def to_json_value(kind: str, v):
    if v is None:
        return None
    if kind == 'dt':
        return _dt(v)
    if kind == 'date':
        return v.isoformat()
    if kind == 'dec':
        return str(v)
    if kind == 'bytes':
        return base64.b64encode(bytes(v)).decode('ascii')
    if kind == 'uuid':
        return str(v)
    if kind == 'json':
        return json.loads(v) if isinstance(v, str) else v
    return v


class NaturalKeys:
    """Resolve pk <-> natural key for models that have one (users, groups, content types, permissions)."""

    def __init__(self, con):
        self.con = con
        self._cache = {}

    def natural(self, label: str, pk):
        m = models.BY_LABEL[label]
        key = (label, pk)
        if key not in self._cache:
            if label == 'auth.permission':
                row = self.con.run('SELECT p.codename, c.app_label, c.model FROM auth_permission p JOIN '
                                   'django_content_type c ON c.id = p.content_type_id WHERE p.id = :pk', pk=pk)
            else:
                cols = ', '.join(qi(c) for c in m.natural_key)
                row = self.con.run(f'SELECT {cols} FROM {qi(m.table)} WHERE {qi(m.pk)} = :pk', pk=pk)
            self._cache[key] = list(row[0]) if row else None
        return self._cache[key]

    def lookup(self, label: str, nk):
        m = models.BY_LABEL[label]
        if label == 'auth.permission':
            codename, app, model = nk
            row = self.con.run('SELECT p.id FROM auth_permission p JOIN django_content_type c ON '
                               'c.id = p.content_type_id WHERE p.codename=:a AND c.app_label=:b AND c.model=:c',
                               a=codename, b=app, c=model)
        else:
            where = ' AND '.join(f'{qi(c)} = :k{i}' for i, c in enumerate(m.natural_key))
            row = self.con.run(f'SELECT {qi(m.pk)} FROM {qi(m.table)} WHERE {where}',
                               **{f'k{i}': v for i, v in enumerate(nk)})
        if not row:
            title = label.split('.')[1].capitalize()
            raise DeserializationError(f'{title} matching query does not exist.: (\'{label}\', {nk!r})')
        return row[0][0]


def dump(con, labels: list) -> list:
    """dumpdata --natural-foreign for the given model labels, in the given order."""
    nks = NaturalKeys(con)
    out = []
    for label in labels:
        m = models.BY_LABEL[label]
        fields = models.fields_for(m, V)
        plain = [f for f in fields if f.kind != 'm2m']
        cols = ', '.join([qi(m.pk)] + [qi(f.col) for f in plain])
        rows = con.run(f'SELECT {cols} FROM {qi(m.table)} ORDER BY {qi(m.pk)}')
        for row in rows:
            pk = row[0]
            obj_fields = {}
            for f, v in zip(plain, row[1:]):
                if f.kind == 'fk':
                    tgt = models.BY_LABEL[f.target]
                    obj_fields[f.name] = None if v is None else (
                        nks.natural(f.target, v) if tgt.natural_key else to_json_value(tgt.pk_kind, v))
                else:
                    obj_fields[f.name] = to_json_value(f.kind, v)
            for f in fields:
                if f.kind != 'm2m':
                    continue
                table, own, other = f.through
                ids = [r[0] for r in con.run(f'SELECT {qi(other)} FROM {qi(table)} WHERE {qi(own)} = :pk '
                                             f'ORDER BY {qi(other)}', pk=pk)]
                tgt = models.BY_LABEL[f.target]
                obj_fields[f.name] = [nks.natural(f.target, i) if tgt.natural_key else to_json_value(tgt.pk_kind, i)
                                      for i in ids]
            out.append({'model': label, 'pk': to_json_value(m.pk_kind, pk), 'fields': obj_fields})
    return out


def dumpable_labels(con, excludes: set) -> list:
    apps = migrations.installed_apps(con)
    result = []
    for m in models.models_for(V, apps):
        if m.label in excludes or m.app in excludes:
            continue
        result.append(m.label)
    return result


# ---------- loading ----------

CASTS = {'dt': 'timestamptz', 'date': 'date', 'dec': 'numeric', 'json': 'jsonb', 'uuid': 'uuid'}


def _param(kind: str, v):
    if v is None:
        return None
    if kind == 'json':
        return json.dumps(v)
    if kind == 'bytes':
        return base64.b64decode(v)
    if kind in ('dt', 'date', 'dec', 'uuid'):
        return str(v)
    if kind == 'int':
        return int(v)
    return v


def _ph(kind: str, name: str) -> str:
    cast = CASTS.get(kind)
    return f'CAST(:{name} AS {cast})' if cast else f':{name}'


def load(con, objects: list, fixture_name: str, ignorenonexistent=False, app_label=None, excludes=()) -> int:
    """loaddata: one transaction; each object saved like Model.save_base(raw=True): UPDATE by pk, INSERT if no
    row was updated (batched per run of same-model objects); m2m replaced; sequences reset afterwards.
    Raises LoadError with Django's message."""
    apps = migrations.installed_apps(con)
    excludes = set(excludes)
    nks = NaturalKeys(con)
    loaded_models = set()
    count = 0
    current = {'label': None, 'pk': None}
    con.run('BEGIN')
    try:
        batch, batch_model = [], None
        for obj in objects:
            label = str(obj.get('model', '')).lower()
            m = models.BY_LABEL.get(label)
            if m is None or V < m.since or m.app not in apps:
                if ignorenonexistent:
                    continue
                raise DeserializationError(f"Invalid model identifier: '{obj.get('model')}'")
            if app_label and m.app != app_label:
                continue
            if label in excludes or m.app in excludes:
                continue
            known = {f.name: f for f in models.fields_for(m, V)}
            values, m2m = {}, {}
            for name, v in (obj.get('fields') or {}).items():
                f = known.get(name)
                if f is None:
                    if ignorenonexistent:
                        continue
                    raise DeserializationError(
                        f"{label.split('.')[1].capitalize()} has no field named '{name}'")
                if f.kind == 'm2m':
                    tgt = models.BY_LABEL[f.target]
                    m2m[f] = [nks.lookup(f.target, x) if (tgt.natural_key and isinstance(x, list)) else x
                              for x in (v or [])]
                elif f.kind == 'fk':
                    tgt = models.BY_LABEL[f.target]
                    values[f] = nks.lookup(f.target, v) if (v is not None and isinstance(v, list)) else v
                else:
                    values[f] = v
            if batch_model is not m or len(batch) >= 2000:
                _save_batch(con, batch_model, batch, current)
                batch, batch_model = [], m
            batch.append((obj.get('pk'), values, m2m))
            loaded_models.add(m.label)
            count += 1
        _save_batch(con, batch_model, batch, current)
        current = {'label': None, 'pk': None}
        con.run('SET CONSTRAINTS ALL IMMEDIATE')
        for label in loaded_models:
            m = models.BY_LABEL[label]
            if m.pk_kind == 'int':
                con.run(f"SELECT setval(pg_get_serial_sequence('{qi(m.table)}', '{m.pk}'), "
                        f"coalesce(max({qi(m.pk)}), 1), max({qi(m.pk)}) IS NOT null) FROM {qi(m.table)}")
        con.run('COMMIT')
    except DeserializationError as e:
        con.run('ROLLBACK')
        raise LoadError(f"django.core.serializers.base.DeserializationError: Problem installing fixture "
                        f"'{fixture_name}': {e}") from e
    except Exception as e:
        try:
            con.run('ROLLBACK')
        except Exception:
            pass
        where = f"Could not load {current['label']}(pk={current['pk']}): " if current['label'] else ''
        raise LoadError(f"{django_error_class(e)}: Problem installing fixture '{fixture_name}': "
                        f"{where}{pg_error_text(e)}") from e
    return count


def _text(kind: str, v):
    if v is None:
        return None
    if kind == 'json':
        return json.dumps(v)
    if kind == 'bool':
        return 'true' if v else 'false'
    return str(v)


def _sqltype(kind: str, f=None) -> str:
    if kind == 'fk':
        tgt = models.BY_LABEL[f.target]
        return _sqltype(tgt.pk_kind)
    return {'dt': 'timestamptz', 'date': 'date', 'dec': 'numeric', 'json': 'jsonb', 'uuid': 'uuid', 'int': 'integer',
            'bool': 'boolean', 'str': 'text', 'text': 'text'}.get(kind, 'text')


def _expr(kind: str, col: str, f=None) -> str:
    if kind == 'bytes':
        return f"decode({col}, 'base64')"
    return f'{col}::{_sqltype(kind, f)}'


def _save_batch(con, m, batch, current) -> None:
    """UPDATE the rows whose pk exists, INSERT the others (set-based, through unnest of text arrays), then
    replace m2m rows. Same outcome as Django's per-object save inside loaddata's transaction."""
    if not batch:
        return
    pks = [_text(m.pk_kind, pk) for pk, _v, _m in batch]
    # rows travel as ONE json text parameter (pg8000's per-element array encoding is slow in Python)
    pktype = _sqltype(m.pk_kind)
    existing = {r[0] for r in con.run(
        f'SELECT {qi(m.pk)}::text FROM {qi(m.table)} WHERE {qi(m.pk)} IN '
        f"(SELECT (x #>> '{{}}')::{pktype} FROM jsonb_array_elements(CAST(:pks AS jsonb)) AS x)",
        pks=json.dumps(pks))}
    groups = {}
    for (pk, values, _m2m), tpk in zip(batch, pks):
        groups.setdefault((tpk in existing, tuple(values.keys())), []).append((pk, tpk, values))
    for (is_update, fields), rows in groups.items():
        current['label'], current['pk'] = m.label, rows[0][0]
        data = json.dumps([[r[1]] + [_text(f.kind, r[2][f]) for f in fields] for r in rows])
        source = 'jsonb_array_elements(CAST(:rows AS jsonb)) AS u(r)'
        if is_update:
            if not fields:
                continue
            sets = ', '.join(f'{qi(f.col)} = {_expr(f.kind, f"(u.r->>{i + 1})", f)}' for i, f in enumerate(fields))
            con.run(f'UPDATE {qi(m.table)} AS t SET {sets} FROM {source} '
                    f'WHERE t.{qi(m.pk)} = {_expr(m.pk_kind, "(u.r->>0)")}', rows=data)
        else:
            cols = ', '.join([qi(m.pk)] + [qi(f.col) for f in fields])
            exprs = ', '.join([_expr(m.pk_kind, '(u.r->>0)')]
                              + [_expr(f.kind, f'(u.r->>{i + 1})', f) for i, f in enumerate(fields)])
            con.run(f'INSERT INTO {qi(m.table)} ({cols}) SELECT {exprs} FROM {source}', rows=data)
    for pk, values, m2m in batch:
        current['label'], current['pk'] = m.label, pk
        for f, ids in m2m.items():
            table, own, other = f.through
            con.run(f'DELETE FROM {qi(table)} WHERE {qi(own)} = :pk', pk=pk)
            for i in ids:
                con.run(f'INSERT INTO {qi(table)} ({qi(own)}, {qi(other)}) VALUES (:a, :b)', a=pk, b=i)


def flush(con) -> None:
    """manage.py flush --noinput: TRUNCATE every model table of the installed apps, RESTART IDENTITY, then
    post_migrate (content types, permissions)."""
    tables = []
    for m in models.models_for(V, migrations.installed_apps(con)):
        if migrations.table_exists(con, m.table):
            tables.append(m.table)
            for f in models.fields_for(m, V):
                if f.kind == 'm2m' and migrations.table_exists(con, f.through[0]):
                    tables.append(f.through[0])
    if tables:
        con.run(f'TRUNCATE {", ".join(qi(t) for t in tables)} RESTART IDENTITY')
    migrations.create_contenttypes(con)
