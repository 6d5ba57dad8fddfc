"""The forwarder and a real learning record store (ralph, on loopback): the demo placement
arrives once, a forwarder killed mid-way and started again sends nothing twice and misses
nothing, a forgotten student's statements are voided, a refused statement is reported and
stops nothing, an unreachable store is tried again with growing pauses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from peerlog import PeerLog
from peerlog.cli import cli
from peerlog.cli.export import events
from peerlog.projections.source import StoreEvents
from peerlog.projections.store import read_store_for
from peerlog.projections.xapi import (
    Forwarder,
    ForwarderBusy,
    ForwardingFailed,
    ForwardingStore,
    ForwardReport,
    LrsClient,
    export,
    xapi_settings,
)
from peerlog.projections.xapi import vocabulary as v
from tests.conftest import Store
from tests.xapi.conftest import seed_demo
from tests.xapi.lrs import Lrs, free_port
from tests.xapi.test_statements import forget_and_dissolve

pytestmark = pytest.mark.slow


def expected_statements(app: PeerLog) -> int:
    """How many statements the record's events make, counted from the events as
    docs/xapi.md says, apart from the code that makes them."""
    count = 0
    entries: dict[tuple[str, str], int] = {}

    def stating(kind: str, fields: dict[str, Any]) -> int:
        if kind == "step":
            return len(fields["performers"]) + len(fields["observers"])
        if kind == "feedback":
            return 2
        return len(fields["authors"])

    state: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for row in events(StoreEvents(app), None):
        kind = row["type"]
        if kind in ("PairFormed", "PairDissolved"):
            count += len(row["students"])
        elif kind in ("SessionOpened", "RolesSwitched"):
            count += len(row["roles"])
        elif kind == "SessionClosed":
            count += len(row["students"])
        elif kind == "GoalAssessed":
            count += 1
        elif kind in ("StepRecorded", "FeedbackGiven", "ReflectionRecorded"):
            entry = {"StepRecorded": "step", "FeedbackGiven": "feedback"}.get(kind, "reflection")
            entry_id = row.get("step_id") or row.get("feedback_id") or row["reflection_id"]
            key = (row["pair_id"], entry_id)
            state[key] = (entry, row)
            entries[key] = stating(entry, row)
            count += entries[key]
        elif kind == "EntryCorrected":
            key = (row["pair_id"], row["entry_id"])
            entry, fields = state[key]
            changes = {k: val for k, val in row["changes"].items() if k != "type"}
            state[key] = (entry, {**fields, **changes})
            count += entries[key]  # each statement of the entry as it stood is voided
            entries[key] = stating(entry, state[key][1])
            count += entries[key]  # and it is stated again, as corrected
        elif kind == "EntryRetracted":
            count += entries.pop((row["pair_id"], row["entry_id"]))
    return count


def test_the_demo_placement_reaches_the_store_once(store: Store, lrs: Lrs) -> None:
    app = store.open()
    try:
        head = seed_demo(app)
        settings = xapi_settings(StoreEvents(app))
        exported = [p.statement for p in export(StoreEvents(app), settings)]
        assert len(exported) == expected_statements(app)
        forwarder = Forwarder(StoreEvents(app), lrs.client(), settings)
        try:
            report = forwarder.run()
            again = forwarder.run()
        finally:
            forwarder.close()
    finally:
        app.close()
    assert (report.start, report.position, report.sent, report.refused) == (
        0,
        head,
        len(exported),
        [],
    )
    assert (again.start, again.position, again.sent) == (head, head, 0)

    held = lrs.statements()
    ids = Counter(s["id"] for s in held)
    assert len(held) == len(exported) == len(ids)
    assert set(ids) == {s["id"] for s in exported}
    # What the store holds is what was made (the store adds when and who stored it).
    by_id = {s["id"]: s for s in exported}
    for stored in held:
        sent = by_id[stored["id"]]
        assert {k: stored[k] for k in sent} == sent


FORWARDER = textwrap.dedent(
    """
    import json, sys, time
    from peerlog import PeerLog
    from peerlog.projections.xapi import Forwarder, LrsClient, xapi_settings
    from peerlog.projections.source import StoreEvents

    env, url, username, password = json.loads(sys.argv[1]), *sys.argv[2:5]
    posts = 0

    class Stalling(LrsClient):
        def post(self, statements):
            global posts
            answer = super().post(statements)
            posts += 1
            if posts == 4:
                # The store has taken the fourth batch; the position has not moved yet.
                print("the store took the fourth batch", flush=True)
                time.sleep(120)
            return answer

    app = PeerLog(env)
    client = Stalling(url, username=username, password=password)
    Forwarder(StoreEvents(app), client, xapi_settings(StoreEvents(app)), batch_size=100).run()
    print("finished", flush=True)
    """
)


def test_a_forwarder_killed_mid_way_sends_nothing_twice_and_misses_nothing(
    store: Store, lrs: Lrs
) -> None:
    app = store.open()
    try:
        head = seed_demo(app)
        exported = [p.statement for p in export(StoreEvents(app), xapi_settings(StoreEvents(app)))]
    finally:
        app.close()
    env = {**os.environ, **store.env}
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            FORWARDER,
            json.dumps(store.env),
            lrs.url,
            *lrs.client_credentials(),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "the store took the fourth batch"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    app = store.open()
    read_store = read_store_for(app.store)
    try:
        target = lrs.client().where
        killed = ForwardingStore(read_store).forwarded(target)
    finally:
        read_store.close()
        app.close()
    held_before = {s["id"] for s in lrs.statements()}
    # Three batches were taken and noted; the fourth was taken, not noted.
    assert 0 < killed.position < head
    assert 300 <= killed.statements < len(held_before) < len(exported)

    result = CliRunner().invoke(
        cli,
        ["xapi", "forward", "--lrs", lrs.url],
        env={**store.env, **lrs.env},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    resent = len(exported) - killed.statements
    assert result.stdout == (
        f"{target}: {resent:,} statements sent; from position {killed.position:,} to {head:,} of {head:,}\n"
    )
    held = lrs.statements()
    ids = Counter(s["id"] for s in held)
    assert max(ids.values()) == 1
    assert set(ids) == {s["id"] for s in exported}
    assert len(held) == len(exported)


def _names(statement: dict[str, Any], account: str) -> bool:
    actor = statement["actor"].get("account", {}).get("name")
    counterpart = statement.get("context", {}).get("extensions", {}).get(v.COUNTERPART, {})
    return account in (actor, counterpart.get("account", {}).get("name"))


def test_a_forgotten_students_statements_are_voided_in_the_store(store: Store, lrs: Lrs) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=2, weeks=3)
        settings = xapi_settings(StoreEvents(app))
        first = Forwarder(StoreEvents(app), lrs.client(), settings)
        try:
            first.run()
        finally:
            first.close()
        before = {p.id for p in export(StoreEvents(app), settings)}
        forget_and_dissolve(app)
        second = Forwarder(StoreEvents(app), lrs.client(), settings)
        try:
            report = second.run()
        finally:
            second.close()
    finally:
        app.close()
    account = settings.account_name("p01-a")
    agent = {"objectType": "Agent", "account": {"homePage": settings.home_page, "name": account}}
    theirs = lrs.statements(agent=json.dumps(agent))
    assert theirs
    assert {s["id"] for s in theirs} <= before  # nothing about them after they were forgotten
    held = lrs.statements()
    voiding = {
        s["object"]["id"]: s["context"]["extensions"][v.VOIDING_REASON]
        for s in held
        if s["verb"]["id"] == v.VOIDED
    }
    naming = [s for s in held if _names(s, account)]
    assert len(naming) > len(theirs)  # feedback they gave or received names them too
    assert all(s["id"] in voiding for s in naming)
    assert Counter(voiding[s["id"]] for s in naming)["forgotten"] == report.sent - 1
    # The voiding statements name no one; the pair's other student left it.
    voiders = {s["actor"]["account"]["name"] for s in held if s["verb"]["id"] == v.VOIDED}
    assert voiders == {"peerlog/system"}
    left = [s for s in held if s["verb"]["id"] == v.LEFT]
    assert [s["actor"]["account"]["name"] for s in left] == [settings.account_name("p01-b")]


def test_a_statement_the_store_refuses_is_reported_and_stops_nothing(
    store: Store, lrs: Lrs
) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=1, weeks=1)
        settings = xapi_settings(StoreEvents(app))
        exported = list(export(StoreEvents(app), settings))
        # The store already holds a different statement with the id of the 30th.
        taken = exported[29]
        other = json.loads(json.dumps(taken.statement))
        other["verb"] = {"id": v.OBSERVED, "display": {"en": "observed"}}
        client = lrs.client()
        assert client.post([other]).status == 200
        client.close()
    finally:
        app.close()
    result = CliRunner().invoke(
        cli,
        ["xapi", "forward", "--lrs", lrs.url, "--batch-size", "25"],
        env={**store.env, **lrs.env},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    target = lrs.client().where
    assert result.stdout.startswith(f"{target}: {len(exported) - 1:,} statements sent, 1 refused;")
    assert result.stderr == (
        f"refused: statement {taken.id} (event {taken.event}): 409 Differing statements "
        f"already exist with the same ID: {taken.id}\n"
    )
    held = {s["id"]: s for s in lrs.statements()}
    assert set(held) == {p.id for p in exported}
    assert held[taken.id]["verb"]["id"] == v.OBSERVED  # the store's own, left alone
    status = CliRunner().invoke(
        cli, ["xapi", "status", "--lrs", lrs.url, "--format", "json"], env=store.env
    )
    assert status.exit_code == 0
    assert [(r["statement_id"], r["status"], r["event"]) for r in json.loads(status.stdout)] == [
        (taken.id, 409, taken.event)
    ]
    summary = CliRunner().invoke(cli, ["xapi", "status", "--format", "json"], env=store.env)
    (row,) = json.loads(summary.stdout)
    assert (row["lrs"], row["statements"], row["refused"], row["lag"]) == (
        target,
        len(exported) - 1,
        1,
        0,
    )


def test_an_unreachable_store_is_tried_again_with_growing_pauses(store: Store, lrs: Lrs) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=1, weeks=1)
        settings = xapi_settings(StoreEvents(app))
        pauses: list[float] = []
        nowhere = LrsClient(f"http://127.0.0.1:{free_port()}/xAPI/", version=settings.version)
        forwarder = Forwarder(StoreEvents(app), nowhere, settings, retries=4, sleep=pauses.append)
        try:
            with pytest.raises(ForwardingFailed, match="cannot reach it") as failed:
                forwarder.run()
        finally:
            forwarder.close()
        assert "5 times" in str(failed.value)
        # Each pause is its base (doubling from half a second) with up to half of it as
        # jitter either way.
        bases = (0.5, 1.0, 2.0, 4.0)
        assert len(pauses) == len(bases)
        assert all(0.5 * b <= p <= 1.5 * b for p, b in zip(pauses, bases, strict=True))
        assert ForwardingStore(read_store_for(app.store)).forwarded(nowhere.where).position == 0
        # The same record to a store that answers: everything arrives.
        reached = Forwarder(StoreEvents(app), lrs.client(), settings)
        try:
            assert reached.run().sent == len(list(export(StoreEvents(app), settings)))
        finally:
            reached.close()
    finally:
        app.close()


def test_wrong_credentials_are_a_message_without_them(store: Store, lrs: Lrs) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=1, weeks=1)
    finally:
        app.close()
    result = CliRunner().invoke(
        cli,
        ["xapi", "forward", "--lrs", lrs.url],
        env={
            **store.env,
            "PEERLOG_XAPI_LRS_USERNAME": "peerlog",
            "PEERLOG_XAPI_LRS_PASSWORD": "wrong-secret",
        },
    )
    assert result.exit_code == 1
    assert "refused the credentials (401)" in result.stderr
    assert "wrong-secret" not in result.output
    result = CliRunner().invoke(cli, ["xapi", "forward"], env=store.env)
    assert result.exit_code == 2
    assert "--lrs URL or PEERLOG_XAPI_LRS_URL" in result.stderr


def test_a_following_forwarder_sends_new_events_as_they_are_recorded(
    store: Store, lrs: Lrs
) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=1, weeks=1)
        settings = xapi_settings(StoreEvents(app))
        forwarder = Forwarder(StoreEvents(app), lrs.client(), settings, batch_size=20)
        stop = threading.Event()
        outcome: list[object] = []
        follower = threading.Thread(
            target=lambda: outcome.append(forwarder.run(follow=True, stop=stop))
        )
        follower.start()
        try:
            made = [p.id for p in export(StoreEvents(app), settings)]
            assert _wait_for(lambda: len(lrs.statements()) == len(made))
            # A second forwarder to the same store is refused while this one runs.
            second = Forwarder(StoreEvents(app), lrs.client(), settings)
            try:
                with pytest.raises(ForwarderBusy, match=r"another forwarder to .* is running"):
                    second.run()
            finally:
                second.close()
            app.execute(
                {
                    "command": "open_session",
                    "command_id": "follow-1",
                    "actor": "p01-a",
                    "pair_id": "p01",
                    "session_id": "p01-late",
                    "roles": {"p01-a": "performer", "p01-b": "observer"},
                }
            )
            now = {p.id for p in export(StoreEvents(app), settings)}
            assert len(now) == len(made) + 2
            assert _wait_for(lambda: {s["id"] for s in lrs.statements()} == now)
        finally:
            stop.set()
            follower.join(timeout=60)
            forwarder.close()
    finally:
        app.close()
    assert not follower.is_alive()
    (report,) = outcome
    assert isinstance(report, ForwardReport)
    assert report.sent == len(made) + 2


def _wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    """Whether ``condition`` came true within ``seconds`` (checked every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
