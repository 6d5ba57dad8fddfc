"""The benchmarks' ten-region record (``--size large``, the rebuild figure) is one
region's events copied in SQL with every id renamed: the copies must decode and fold to
the rows of the first region with its ids renamed, for the figure to be a rebuild of
ten regions."""

from __future__ import annotations

from typing import Any

import msgspec

from benchmarks import data
from peerlog.cli.demo import placement
from peerlog.projections import PROJECTIONS, Runner, StoreEvents
from tests.conftest import Store

COPIES = 3


def _renamed(value: Any, copy: int) -> Any:
    if isinstance(value, str):
        return value.replace(data.region(0), data.region(copy))
    if isinstance(value, tuple | list):
        return type(value)(_renamed(v, copy) for v in value)
    if isinstance(value, dict):
        return {_renamed(k, copy): _renamed(v, copy) for k, v in value.items()}
    return value


def _moved(row: tuple[Any, ...], columns: list[int], by: int) -> tuple[Any, ...]:
    """The row with its positions moved on: in its position columns, and in the
    (position, ``stream@version``) pairs of its lists of events."""

    def events(value: Any) -> Any:
        if isinstance(value, tuple) and all(isinstance(v, tuple) for v in value):
            return tuple(
                (v[0] + by, *v[1:]) if len(v) == 2 and "@" in str(v[1]) else v for v in value
            )
        return value

    return tuple(
        v + by if i in columns and isinstance(v, int) else events(v) for i, v in enumerate(row)
    )


def _of_region(row: Any, copy: int) -> bool:
    return data.region(copy) in repr(row)


def test_copied_regions_fold_to_the_first_regions_rows_renamed(store: Store) -> None:
    app = store.open()
    try:
        data.load(
            app, data.prefixed(placement(pairs=4, weeks=2, pairs_per_course=2), data.region(0))
        )
        head = app.store.max_notification_id()
        assert head is not None
        fresh = data.Store(store.kind, store.env, None)
        assert data.copy_regions(fresh, COPIES) == COPIES * head
        source = StoreEvents(app)
        assert source.head() == COPIES * head
        runner = Runner(source, part_events=head)  # a part for each region
        try:
            runner.rebuild(processes=1)
            assert all(
                any(runner.store.load(p).data[t.name] for t in p.tables) for p in PROJECTIONS
            )
            for projection in PROJECTIONS:
                rows = runner.store.load(projection)
                for table in projection.tables:
                    # Positions in rows are the copy's, after the head.
                    moved = [i for i, c in enumerate(table.columns) if "position" in c.name]
                    everything = [msgspec.structs.astuple(r) for r in rows.all(table)]
                    first = [r for r in everything if _of_region(r, 0)]
                    assert bool(first) == bool(everything), table.name
                    for copy in range(1, COPIES):
                        copied = [r for r in everything if _of_region(r, copy)]
                        assert sorted(map(repr, copied)) == sorted(
                            repr(_moved(_renamed(r, copy), moved, copy * head)) for r in first
                        ), (table.name, copy)
                    assert len(everything) == COPIES * len(first), table.name
        finally:
            runner.close()
    finally:
        app.close()
