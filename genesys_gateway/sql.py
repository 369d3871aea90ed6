"""SQL the ORM does not write for us."""

from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault


def insert_once(instance: Model, *, conflict_columns: tuple[str, ...] = ()) -> int | None:
    """INSERT the unsaved `instance` ... ON CONFLICT DO NOTHING RETURNING its new id.

    None when a conflicting row exists. One round trip, and unlike a savepoint around a
    plain INSERT it never aborts the caller's transaction: when a concurrent transaction
    is inserting the same key, PostgreSQL makes this statement wait for it and then insert
    nothing. `conflict_columns` names the unique constraint (any, when empty). Sets the
    instance's pk when it inserts.
    """
    sql, params = insert_once_sql(instance, conflict_columns=conflict_columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instance.pk = row[0]
    instance._state.adding = False
    return int(row[0])


def insert_once_sql(
    instance: Model, *, conflict_columns: tuple[str, ...] = ()
) -> tuple[str, list[Any]]:
    """The statement of `insert_once` and its parameters (positional `%s`), for callers
    that run it inside a larger statement (a CTE)."""
    meta = instance._meta
    assert meta.pk is not None
    quote = connection.ops.quote_name
    columns, params = [], []
    for field in meta.concrete_fields:
        # pre_save fills auto_now_add fields; get_db_prep_save adapts JSON and times.
        value = field.pre_save(instance, add=True)
        if field.primary_key or isinstance(value, DatabaseDefault):
            continue  # the database fills these in
        columns.append(quote(field.column or field.attname))
        params.append(field.get_db_prep_save(value, connection))
    target = f"({', '.join(map(quote, conflict_columns))}) " if conflict_columns else ""
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT {target}DO NOTHING RETURNING {quote(meta.pk.column or meta.pk.attname)}"
    )
    return sql, params
