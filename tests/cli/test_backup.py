"""``peerlog backup FILE``: SQLite's online backup of a record in use, checked after a
restore; PostgreSQL is pointed to its own tools."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peerlog import PeerLog
from peerlog.domain.events import StepRecorded
from tests.cli.conftest import Cli
from tests.conftest import Store
from tests.privacy import ABOUT_S1, record_personal_texts
from tests.support import Placement

COLUMNS = "position, originator_id, originator_version, topic, state, recorded_at, chain"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    path = tmp_path / "record.sqlite3"
    return Store("sqlite", {"PEERLOG_DATABASE_URL": f"sqlite:///{path}"}, path=path)


@pytest.fixture
def placement(sqlite_store: Store) -> Iterator[Placement]:
    app = sqlite_store.open()
    p = Placement(app).seed()
    record_personal_texts(p)
    for pair, session, a, b in (("p1", "d2", "s1", "s2"), ("p2", "w1", "s3", "s4")):
        p.run("open_session", a, pair_id=pair, session_id=session,
              roles={a: "performer", b: "observer"})  # fmt: skip
    yield p
    app.close()


def _rows(store: Store) -> list[tuple[object, ...]]:
    return store.execute_raw(f"SELECT {COLUMNS} FROM events ORDER BY position")


def _count(store: Store) -> int:
    (row,) = store.execute_raw("SELECT count(*) FROM events")
    return int(str(row[0]))


class Writers:
    """Two processes' worth of writers, each recording steps into its own pair."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.threads = [threading.Thread(target=self._write, args=args) for args in self.PAIRS]

    PAIRS = (("p1", "d2", "s1", "s2"), ("p2", "w1", "s3", "s4"))

    @staticmethod
    def command(pair: str, session: str, performer: str, observer: str, i: int) -> dict[str, Any]:
        return {"command": "record_step", "command_id": f"w-{pair}-{i}", "actor": performer,
                "pair_id": pair, "session_id": session, "step_id": f"{pair}-w{i}",
                "kind": "performance", "performers": [performer], "observers": [observer],
                "goals": ["hygiene"], "note": f"Step {i} of {performer} during the backup"}  # fmt: skip

    def _write(self, pair: str, session: str, performer: str, observer: str) -> None:
        app = PeerLog(self.store.env)
        try:
            i = 0
            while not self.stop.is_set():
                i += 1
                app.execute(self.command(pair, session, performer, observer, i))
        except BaseException as exc:
            self.failures.append(exc)
        finally:
            app.close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 120
        while _count(self.store) < count:
            assert not self.failures, self.failures
            assert time.monotonic() < deadline, "the writers did not get on"
            time.sleep(0.01)


def test_a_backup_taken_while_commands_are_recorded_is_the_record_at_one_moment(
    sqlite_store: Store, placement: Placement, tmp_path: Path
) -> None:
    store = sqlite_store
    peerlog = Cli(dict(store.env))
    peerlog.ok("checkpoint")
    start = _count(store)
    writers = Writers(store)
    for thread in writers.threads:
        thread.start()
    try:
        writers.wait_for(start + 20)
        target = tmp_path / "backup.sqlite3"
        result = peerlog("backup", str(target))
        assert result.exit_code == 0, result.output
        restored = tmp_path / "restored.sqlite3"
        shutil.copyfile(target, restored)
        copied = Store("sqlite", {"PEERLOG_DATABASE_URL": f"sqlite:///{restored}"}, path=restored)
        size = _count(copied)
        writers.wait_for(size + 20)  # the writers went on after the backup
    finally:
        writers.stop.set()
        for thread in writers.threads:
            thread.join(60)
    assert not writers.failures, writers.failures
    assert size >= start + 20
    assert result.stdout.startswith(
        f"backed up {store.env['PEERLOG_DATABASE_URL']} to {target}: {size:,} events "
        f"(positions 1 to {size:,}), "
    )
    assert result.stdout.splitlines()[1] == (
        f"checked the copy: hash chains and command log intact, Merkle tree of {size:,} "
        f"events; it extends its latest checkpoint (at {start:,} events)"
    )
    # The copy holds exactly the record's first events, byte for byte, at their positions.
    assert _rows(copied) == _rows(store)[:size]
    # Restored, it is a record of its own: it verifies, its texts open, commands it holds
    # are recognised when sent again.
    verified = Cli(dict(copied.env))
    assert verified.ok("verify").startswith(f"verified: {size:,} events in ")
    app = copied.open()
    try:
        notes = [e.note for e in app.history("pair/p1") if isinstance(e, StepRecorded)]
        assert notes[0] == ABOUT_S1["step_note"]
        held = [args for args in Writers.PAIRS
                if copied.execute_raw("SELECT 1 FROM events WHERE command_id = %s",
                                      (f"w-{args[0]}-1",))]  # fmt: skip
        assert held
        assert app.execute(Writers.command(*held[0], 1)).repeated
        assert _count(copied) == size
    finally:
        app.close()
    assert Cli(dict(copied.env)).ok("verify", "--pair", "p1").startswith("verified: pair p1")


def test_a_backup_never_replaces_a_file(sqlite_store: Store, placement: Placement) -> None:
    assert sqlite_store.path is not None
    target = sqlite_store.path.with_name("taken.sqlite3")
    target.write_text("something else")
    result = Cli(dict(sqlite_store.env))("backup", str(target))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {target} exists; peerlog backup writes a new file\n",
    )
    assert target.read_text() == "something else"


def test_a_postgresql_record_is_pointed_to_its_own_backup_tools(
    postgres_store: Store, tmp_path: Path
) -> None:
    result = Cli(dict(postgres_store.env))("backup", str(tmp_path / "backup.sqlite3"))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: peerlog backup copies an SQLite record; back up a PostgreSQL record with "
        "PostgreSQL's own tools: pg_dump for a copy of the database, or pg_basebackup with "
        "archived WAL to restore it to any moment (see docs/deployment.md#backups-and-"
        "point-in-time-recovery)\n"
    )
    assert not (tmp_path / "backup.sqlite3").exists()
