"""Each read-model table is defined once, by its row: the row's fields are the table's
columns, in order, with their SQL types; and a row goes to SQL and back unchanged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from peerlog import PeerLog
from peerlog.projections import PROJECTIONS, TABLES, StoreEvents
from peerlog.projections.asof import fold_all
from peerlog.projections.participation import BALANCE, PairBalanceRow
from peerlog.projections.tables import Row, Rows, Table, iter_rows_sql, row_from_sql
from tests.support import T0, Placement

KIND: dict[type[msgspec.inspect.Type], str] = {
    msgspec.inspect.StrType: "text",
    msgspec.inspect.LiteralType: "text",
    msgspec.inspect.IntType: "integer",
    msgspec.inspect.FloatType: "real",
    msgspec.inspect.BoolType: "boolean",
    msgspec.inspect.DateTimeType: "timestamp",
    msgspec.inspect.DateType: "date",
}


def _kind(info: msgspec.inspect.Type) -> tuple[str, bool]:
    """The SQL column type and nullability a field's type should give, read with
    msgspec's own inspection (not the code under test)."""
    if isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    nullable = False
    if isinstance(info, msgspec.inspect.UnionType) and info.includes_none:
        rest = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        nullable = True
        info = rest[0] if len(rest) == 1 else msgspec.inspect.UnionType(tuple(rest))
    return KIND.get(type(info), "json"), nullable


@pytest.mark.parametrize("table", TABLES.values(), ids=lambda t: t.name)
def test_a_tables_columns_are_its_rows_fields_in_order(table: Table[Any]) -> None:
    info = msgspec.inspect.type_info(table.row)
    assert isinstance(info, msgspec.inspect.StructType)
    assert info.array_like, "rows are kept as arrays"
    assert table.column_names == tuple(f.name for f in info.fields)
    assert [(c.type, c.nullable) for c in table.columns] == [_kind(f.type) for f in info.fields]
    assert 1 <= table.key < len(table.columns)


def test_the_tables_are_listed_once_and_in_the_projections_order() -> None:
    listed = [t for p in PROJECTIONS for t in p.tables]
    assert list(TABLES.values()) == listed
    assert len({t.name for t in listed}) == len(listed)
    assert len({t.row for t in listed if not t.name.endswith("_entries")}) == len(listed) - 3


def test_a_pair_balance_row_is_read_by_name() -> None:
    row = PairBalanceRow(
        "p1", "vfu-1", ("s1", "s2"), True, 3, 0.5, 1, None, 2, 1, 4, 0, 1, 1 / 3, T0, T0
    )
    assert BALANCE.key_of(row) == ("p1",)
    named = BALANCE.named(row)
    assert list(named) == list(BALANCE.column_names)
    assert (named["steps"], named["feedback_balance"], named["latest_activity_at"]) == (3, None, T0)


def _folded(tmp_path: Path) -> dict[str, Rows]:
    """Every projection folded over a placement with something in every table."""
    app = PeerLog({"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'record.sqlite3'}"})
    placement = Placement(app).seed()
    app.execute(placement.step("st1"))
    app.execute(placement.feedback("fb1"))
    app.execute(placement.reflection("rf1"))
    at = T0 + timedelta(days=1)
    placement.run(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="good",
        kind="midpoint",
        comment="Careful hand hygiene throughout",
        assessment_id="mid-1",
        occurred_at=at.isoformat(),
    )
    placement.run(
        "acknowledge_assessment",
        "s1",
        pair_id="p1",
        assessment="mid-1",
        comment="Read it",
        occurred_at=(at + timedelta(hours=2)).isoformat(),
    )
    try:
        return {p.name: fold_all(StoreEvents(app), p).rows for p in PROJECTIONS}
    finally:
        app.close()


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_row_goes_to_sql_and_back_unchanged(dialect: str, tmp_path: Path) -> None:
    folded = _folded(tmp_path)
    for projection in PROJECTIONS:
        rows = folded[projection.name]
        back = Rows(projection.tables)
        for table in projection.tables:
            stored = list(iter_rows_sql(table, rows.all(table), dialect))
            assert stored, f"{table.name} has no rows to check"
            for values in stored:
                assert len(values) == len(table.columns)
                row: Row = row_from_sql(table, values)
                assert type(row) is table.row
                back.put(table, table.key_of(row), row)
        assert back.snapshot() == rows.snapshot()
