"""SQL the ORM does not write for us."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model
from django.db.models.expressions import DatabaseDefault


def execute_prepared(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run `sql` as a prepared statement and return its first row (None for no rows).

    Django's psycopg cursors bind parameters client-side: PostgreSQL parses and plans the
    statement on every call, and psycopg merges the parameters into its text in Python.
    Prepared with server-side parameters, it is parsed once per database connection
    (psycopg keeps the last 100 statements of each), so only for statements whose text
    is one of a few, never built per call with values in it. Server-side parameters
    need a type PostgreSQL can infer (cast them, `%s::timestamptz`, where it cannot) and
    a literal `%` written `%%`. When queries are logged (DEBUG, or a test's
    CaptureQueriesContext) and on other databases than PostgreSQL, Django's own cursor
    runs it, so the statement is counted and logged as usual. psycopg prepares nothing
    unless the connection has a `prepare_threshold` (settings/base.py sets one), and keys
    a statement by its text and parameter types (an int is int2, int4 or int8 by value).
    """
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        if database.queries_logged or database.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.fetchone()
        with database.wrap_database_errors, psycopg.Cursor(cursor.connection) as raw:
            return raw.execute(sql, params, prepare=True).fetchone()


def insert_values(instance: Model) -> tuple[list[str], list[Any]]:
    """The quoted columns and adapted values an INSERT of the unsaved `instance` writes:
    every concrete field but the primary key and those the database fills in."""
    # `connection` looks the connection up again on each use (asgiref's Local): once here.
    database = connections[DEFAULT_DB_ALIAS]
    columns, params = [], []
    for field, column in _insert_fields(type(instance)):
        # pre_save fills auto_now_add fields; get_db_prep_save adapts JSON and times.
        value = field.pre_save(instance, add=True)
        if isinstance(value, DatabaseDefault):
            continue  # the database fills these in
        columns.append(column)
        params.append(field.get_db_prep_save(value, database))
    return columns, params


@functools.cache
def _insert_fields(model: type[Model]) -> list[tuple[Field[Any, Any], str]]:
    quote = connection.ops.quote_name
    return [
        (field, quote(field.column or field.attname))
        for field in model._meta.concrete_fields
        if not field.primary_key
    ]


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
    columns, params = insert_values(instance)
    target = f"({', '.join(map(quote, conflict_columns))}) " if conflict_columns else ""
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT {target}DO NOTHING RETURNING {quote(meta.pk.column or meta.pk.attname)}"
    )
    return sql, params
