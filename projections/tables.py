"""Read-model tables, and the rows a projection keeps in memory while it works.

A projection's state is a set of tables. Each table is defined once, by its row: a
:class:`Row` (a msgspec struct kept as an array) whose fields are the table's columns, in
order, with their types and descriptions; the :class:`Table` reads its columns from it.
A table in memory is a dict from key (a tuple of the first fields) to a row. The same
state serves both modes of a projection: folded in memory to answer an as-of question,
or flushed to SQL tables by the runner (only the rows a batch changed, with the tracking
position, in one transaction).
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import (
    Annotated,
    Any,
    Final,
    Generic,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

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


class Row(msgspec.Struct, array_like=True):
    """A read-model row: its fields are the table's columns, in order.

    Rows are mutable: a projection changes a row got from :meth:`Rows.get` in place and
    then says so with :meth:`Rows.touch`."""


R = TypeVar("R", bound=Row)
Key = tuple[Any, ...]


def doc(text: str) -> msgspec.Meta:
    """A column's description, as ``Annotated[int, doc("...")]`` on a row's field."""
    return msgspec.Meta(description=text)


_KINDS: Final[tuple[tuple[type, ColumnType], ...]] = (
    (bool, "boolean"),  # before int: a bool is an int
    (str, "text"),
    (int, "integer"),
    (float, "real"),
    (datetime, "timestamp"),  # before date: a datetime is a date
    (date, "date"),
)


def _column(name: str, hint: Any) -> Column:
    """A column from a row's field: its type from the field's, nullable if it may be
    None, its description from ``doc``; anything but the plain types is JSON."""
    description = ""
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        description = next((m.description or "" for m in extras if isinstance(m, msgspec.Meta)), "")
    nullable = False
    if get_origin(hint) in {Union, types.UnionType}:
        options = [a for a in get_args(hint) if a is not type(None)]
        nullable = len(options) < len(get_args(hint))
        hint = options[0] if len(options) == 1 else hint
    if get_origin(hint) is Literal:  # a str of a few values is text
        hint = type(get_args(hint)[0])
    kind: ColumnType = next((k for t, k in _KINDS if _is_subclass(hint, t)), "json")
    return Column(name, kind, description, nullable=nullable)


def _is_subclass(hint: Any, kind: type) -> bool:
    """Whether a field's type is a plain class deriving from ``kind`` (not a generic)."""
    return get_origin(hint) is None and isinstance(hint, type) and issubclass(hint, kind)


@dataclass(frozen=True)
class Table(Generic[R]):
    """A read-model table: its row type, whose fields are its columns (the first ``key``
    of them form the primary key)."""

    name: str
    row: type[R]
    key: int
    doc: str = ""
    public: bool = True
    """Public tables are for dashboards; the others hold what the projection needs to
    apply later events (corrections, retractions)."""
    columns: tuple[Column, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        hints = get_type_hints(self.row, include_extras=True)
        columns = tuple(_column(name, hints[name]) for name in self.row.__struct_fields__)
        object.__setattr__(self, "columns", columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return self.row.__struct_fields__

    def named(self, row: R) -> dict[str, Any]:
        """A row by column name (as the JSON outputs give it)."""
        return dict(zip(self.column_names, msgspec.structs.astuple(row), strict=True))

    def key_of(self, row: R) -> Key:
        """The row's key: its first ``key`` fields."""
        return msgspec.structs.astuple(row)[: self.key]


@dataclass
class Rows:
    """The tables of one projection, in memory, remembering what changed."""

    tables: tuple[Table[Any], ...]
    data: dict[str, dict[Key, Any]] = field(default_factory=dict)
    changed: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    removed: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    track: bool = True

    def __post_init__(self) -> None:
        for table in self.tables:
            self.data.setdefault(table.name, {})
            self.changed.setdefault(table.name, set())
            self.removed.setdefault(table.name, set())

    def of(self, table: Table[R]) -> dict[Key, R]:
        """The table's rows by key (to read; change them through the other methods)."""
        rows: dict[Key, R] = self.data[table.name]
        return rows

    def get(self, table: Table[R], key: Key) -> R | None:
        row: R | None = self.data[table.name].get(key)
        return row

    def put(self, table: Table[R], key: Key, row: R) -> None:
        self.data[table.name][key] = row
        if self.track:
            self.changed[table.name].add(key)
            self.removed[table.name].discard(key)

    def touch(self, table: Table[Any], key: Key) -> None:
        """Note that a row got from :meth:`get` was changed in place."""
        if self.track:
            self.changed[table.name].add(key)

    def delete(self, table: Table[Any], key: Key) -> None:
        if self.data[table.name].pop(key, None) is not None and self.track:
            self.changed[table.name].discard(key)
            self.removed[table.name].add(key)

    def all(self, table: Table[R]) -> Iterable[R]:
        rows: Iterable[R] = self.data[table.name].values()
        return rows

    def clear_changes(self) -> None:
        for table in self.tables:
            self.changed[table.name].clear()
            self.removed[table.name].clear()

    def has_changes(self) -> bool:
        return any(self.changed.values()) or any(self.removed.values())

    def snapshot(self) -> dict[str, set[tuple[Any, ...]]]:
        """Every row of every table as comparable tuples (for tests and checks)."""
        return {
            t.name: {
                tuple(_comparable(v) for v in msgspec.structs.astuple(row))
                for row in self.data[t.name].values()
            }
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


def row_from_sql(table: Table[R], stored: Iterable[Any]) -> R:
    """A stored row back as the projection keeps it."""
    return table.row(*(from_sql(v, c.type) for v, c in zip(stored, table.columns, strict=True)))


def iter_rows_sql(table: Table[R], rows: Iterable[R], dialect: str) -> Iterator[tuple[Any, ...]]:
    """Rows as the database stores them (only the columns that need it are converted)."""
    native = {"text", "integer", "real"} | (
        {"timestamp", "date", "boolean"} if dialect == "postgres" else set()
    )
    convert = [(i, c.type) for i, c in enumerate(table.columns) if c.type not in native]
    astuple = msgspec.structs.astuple
    if not convert:
        for row in rows:
            yield astuple(row)
        return
    for row in rows:
        out = list(astuple(row))
        for i, kind in convert:
            value = out[i]
            if value is not None:
                out[i] = to_sql(value, kind, dialect)
        yield tuple(out)
