"""Read-model tables, and the rows a projection keeps in memory while it works.

A projection's state is a set of tables. A table is a dict from key (a tuple of the
first columns) to a row (a list of all columns, in order). The same state serves both
modes of a projection: folded in memory to answer an as-of question, or flushed to SQL
tables by the runner (only the rows a batch changed, with the tracking position, in one
transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Literal

import msgspec

ColumnType = Literal["text", "integer", "real", "boolean", "timestamp", "date", "json"]

SQL_TYPES: Final[dict[str, dict[ColumnType, str]]] = {
    "postgres": {
        "text": "text",
        "integer": "bigint",
        "real": "double precision",
        "boolean": "boolean",
        "timestamp": "timestamptz",
        "date": "date",
        "json": "jsonb",
    },
    "sqlite": {
        "text": "TEXT",
        "integer": "INTEGER",
        "real": "REAL",
        "boolean": "INTEGER",
        "timestamp": "TEXT",
        "date": "TEXT",
        "json": "TEXT",
    },
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    doc: str = ""
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    """A read-model table: its columns (the first ``key`` of them form the primary key)."""

    name: str
    columns: tuple[Column, ...]
    key: int
    doc: str = ""
    public: bool = True
    """Public tables are for dashboards; the others hold what the projection needs to
    apply later events (corrections, retractions)."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def index(self, name: str) -> int:
        return self.column_names.index(name)

    def named(self, row: Sequence[Any]) -> dict[str, Any]:
        """A row by column name (how other modules read a projection's rows)."""
        return dict(zip(self.column_names, row, strict=True))


@dataclass
class Rows:
    """The tables of one projection, in memory, remembering what changed."""

    tables: tuple[Table, ...]
    data: dict[str, dict[tuple[Any, ...], list[Any]]] = field(default_factory=dict)
    changed: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    removed: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    track: bool = True

    def __post_init__(self) -> None:
        for table in self.tables:
            self.data.setdefault(table.name, {})
            self.changed.setdefault(table.name, set())
            self.removed.setdefault(table.name, set())

    def get(self, table: str, key: tuple[Any, ...]) -> list[Any] | None:
        return self.data[table].get(key)

    def put(self, table: str, key: tuple[Any, ...], row: list[Any]) -> None:
        self.data[table][key] = row
        if self.track:
            self.changed[table].add(key)
            self.removed[table].discard(key)

    def touch(self, table: str, key: tuple[Any, ...]) -> None:
        """Note that a row got from :meth:`get` was changed in place."""
        if self.track:
            self.changed[table].add(key)

    def delete(self, table: str, key: tuple[Any, ...]) -> None:
        if self.data[table].pop(key, None) is not None and self.track:
            self.changed[table].discard(key)
            self.removed[table].add(key)

    def all(self, table: str) -> Iterable[list[Any]]:
        return self.data[table].values()

    def clear_changes(self) -> None:
        for table in self.tables:
            self.changed[table.name].clear()
            self.removed[table.name].clear()

    def has_changes(self) -> bool:
        return any(self.changed.values()) or any(self.removed.values())

    def snapshot(self) -> dict[str, set[tuple[Any, ...]]]:
        """Every row of every table as comparable tuples (for tests and checks)."""
        return {
            t.name: {tuple(_comparable(v) for v in row) for row in self.data[t.name].values()}
            for t in self.tables
        }


def _comparable(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):
        return _comparable(msgspec.to_builtins(value))
    if isinstance(value, list | tuple):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _comparable(v)) for k, v in value.items()))
    return value


_JSON: Final = msgspec.json.Encoder(order="sorted")


def to_sql(value: Any, kind: ColumnType, dialect: str) -> Any:
    """A Python value as the database stores it."""
    if value is None:
        return None
    if kind == "json":
        return _JSON.encode(value).decode()
    if dialect == "sqlite":
        if kind == "timestamp":
            return value.isoformat(timespec="microseconds")
        if kind == "date":
            return value.isoformat()
        if kind == "boolean":
            return int(value)
    return value


def from_sql(value: Any, kind: ColumnType) -> Any:
    """A stored value back as the projection keeps it in memory."""
    if value is None:
        return None
    if kind == "json":
        decoded = json.loads(value) if isinstance(value, str) else value
        return _as_tuples(decoded)
    if kind == "timestamp" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if kind == "boolean":
        return bool(value)
    return value


def _as_tuples(value: Any) -> Any:
    """JSON arrays come back as tuples, as the projections keep them."""
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_tuples(v) for k, v in value.items()}
    return value


def iter_rows_sql(
    table: Table, rows: Iterable[list[Any]], dialect: str
) -> Iterator[tuple[Any, ...]]:
    """Rows as the database stores them (only the columns that need it are converted)."""
    native = {"text", "integer", "real"} | (
        {"timestamp", "date", "boolean"} if dialect == "postgres" else set()
    )
    convert = [(i, c.type) for i, c in enumerate(table.columns) if c.type not in native]
    if not convert:
        for row in rows:
            yield tuple(row)
        return
    for row in rows:
        out = list(row)
        for i, kind in convert:
            value = out[i]
            if value is not None:
                out[i] = to_sql(value, kind, dialect)
        yield tuple(out)
