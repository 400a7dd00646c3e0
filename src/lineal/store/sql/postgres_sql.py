"""projections.Sql over a psycopg connection: ``?`` placeholders, many-row INSERTs as one
statement of arrays, and several reads sent in one round trip (lineal.store.sql.postgres's
connection layer, kept apart from the store)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def pg(sql: str) -> str:
    """``?`` placeholders as psycopg writes them."""
    return sql.replace("?", "%s")


#: ``INSERT INTO table (columns) VALUES (?, ...)``, perhaps ``ON CONFLICT ... DO NOTHING``:
#: the shape ``PostgresSql.many`` sends as one statement.
_ROWS_INSERT = re.compile(
    r"\s*INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(\?(?:, \?)*\)"
    r"(\s+ON CONFLICT(?: \([\w, ]+\))? DO NOTHING)?\s*",
    re.IGNORECASE,
)
#: A column's type as the catalog spells it, for the arrays ``PostgresSql.many`` sends.
_COLUMN_TYPES = (
    "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
)
_FLOATS = frozenset({"double precision", "real"})


class _RowsInsert:
    """An INSERT of many rows as one statement: the rows go as one array per column (binary),
    unnested in order, so ``ON CONFLICT DO NOTHING`` keeps the first of duplicate rows, as
    inserting them one by one does."""

    __slots__ = ("floats", "query", "width")

    def __init__(self, table: str, columns: list[str], types: dict[str, str], tail: str):
        arrays = ", ".join(f"%b::{types[c]}[]" for c in columns)
        self.query = (
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}){tail}"
        )
        self.width = len(columns)
        # An array holds one type: a float column's whole numbers go as floats too.
        self.floats = [i for i, c in enumerate(columns) if types[c] in _FLOATS]

    def params(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        columns = [list(column) for column in zip(*rows, strict=True)]
        for i in self.floats:
            columns[i] = [None if v is None else float(v) for v in columns[i]]
        return columns


class PostgresSql:
    """projections.Sql over a psycopg connection; translates ``?`` to ``%s`` once per query."""

    __slots__ = ("cache", "conn", "inserts", "types")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.cache: dict[str, str] = {}
        self.inserts: dict[str, _RowsInsert | None] = {}
        self.types: dict[str, dict[str, str]] = {}

    def _q(self, sql: str) -> str:
        query = self.cache.get(sql)
        if query is None:
            query = self.cache[sql] = pg(sql)
        return query

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; in a write transaction it is sent with the next that needs an
        answer, and its row count is not known (-1)."""
        cursor = self.conn.execute(self._q(sql), params or None)
        if sql.startswith("ROLLBACK TO"):
            # psycopg forgets its prepared statements when it reads a ROLLBACK's result, and
            # has the server drop them all before its next statement. In a pipeline that
            # result is read later, after statements prepared since under reused names, which
            # the drop then takes too ("prepared statement _pg3_N does not exist"): read it
            # now (a pipeline sync), so the two stay in step.
            with self.conn.pipeline():
                pass
        return int(cursor.rowcount)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.conn.execute(self._q(sql), params or None).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.conn.execute(self._q(sql), params or None).fetchall()
        return rows

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement for each row. A plain many-row INSERT goes as one statement (the
        server parses, plans and executes it once, not once a row: most of a batch's time);
        anything else row by row, pipelined."""
        if not rows:
            return
        insert = self._rows_insert(sql) if len(rows) > 1 else None
        if insert is not None and all(len(row) == insert.width for row in rows):
            self.conn.execute(insert.query, insert.params(rows))
            return
        with self.conn.cursor() as cursor:
            cursor.executemany(self._q(sql), rows)

    def any_of(
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        # One statement whatever the count: the values go as one array parameter, so the
        # query's text (and its prepared plan) is the same for every count.
        if not values:
            return []
        return self.all(sql.replace("IN ({})", "= ANY(?)"), (*params, list(values)))

    def any_of_each(
        self, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        # All go out before the first answer is read: in a pipeline, one round trip.
        cursors = [
            None
            if "IN ({})" in sql and not values
            else self.conn.execute(self._q(sql.replace("IN ({})", "= ANY(?)")), (list(values),))
            if "IN ({})" in sql
            else self.conn.execute(self._q(sql), values or None)
            for sql, values in queries
        ]
        return [[] if cursor is None else cursor.fetchall() for cursor in cursors]

    def _rows_insert(self, sql: str) -> _RowsInsert | None:
        if sql in self.inserts:
            return self.inserts[sql]
        insert = None
        shape = _ROWS_INSERT.fullmatch(sql)
        if shape is not None:
            table, columns = shape.group(1), [c.strip() for c in shape.group(2).split(",")]
            types = self.types.get(table)
            if types is None:
                types = self.types[table] = dict(
                    self.conn.execute(_COLUMN_TYPES, (table,)).fetchall()
                )
            if len(columns) == sql.count("?") and all(c in types for c in columns):
                insert = _RowsInsert(table, columns, types, shape.group(3) or "")
        self.inserts[sql] = insert
        return insert
