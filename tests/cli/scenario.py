"""A small history whose audit and balance numbers are worked out by hand below.

Pair p1 (s1, s2; supervisor sup1) in course vfu-1, session d1, on Tuesday:

=====  =========================  ===========  =========  ===============
entry  what                       performers   observers  goals
=====  =========================  ===========  =========  ===============
st1    performance                s1           s2         hygiene
st2    performance                s1           s2         hygiene, medication
st3    performance                s2           s1         medication
st4    checkpoint                 s1, s2       -          communication
st5    performance                s1           s2         communication
fb1    peer, s2 -> s1                                     hygiene
fb2    peer, s1 -> s2                                     medication
fb3    supervisor, sup1 -> s1                             hygiene
fb4    peer, s2 -> s1                                     communication
rf1    individual, by s1                                  hygiene
rf2    pair, by s1 and s2                                 communication
=====  =========================  ===========  =========  ===============

then sup1 assesses s1: hygiene ``good``, medication ``not_yet`` (midpoint); on Friday
st2 is corrected (s2 performed, s1 observed); on Saturday st3 is retracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peerlog import PeerLog
from tests.support import T0, Placement

DAY = T0.replace(hour=9) + timedelta(days=1)


@dataclass
class History:
    placement: Placement
    before_correction: datetime
    """A recorded-by time after everything but the correction and the retraction."""
    corrected_at: datetime
    """When the correction was recorded."""


def _at(minutes: int) -> str:
    return (DAY + timedelta(minutes=minutes)).isoformat()


def build(app: PeerLog) -> History:
    p = Placement(app).seed()
    run = p.app.execute
    run(p.step("st1", occurred_at=_at(0)))
    run(p.step("st2", goals=["hygiene", "medication"], occurred_at=_at(10)))
    run(
        p.step(
            "st3", performers=["s2"], observers=["s1"], goals=["medication"], occurred_at=_at(20)
        )
    )
    run(
        p.step(
            "st4",
            kind="checkpoint",
            performers=["s1", "s2"],
            observers=[],
            goals=["communication"],
            occurred_at=_at(30),
        )
    )
    run(p.step("st5", goals=["communication"], occurred_at=_at(40)))
    run(p.feedback("fb1", occurred_at=_at(50)))
    run(
        p.feedback(
            "fb2", actor="s1", giver="s1", receiver="s2", goals=["medication"], occurred_at=_at(55)
        )
    )
    run(p.feedback("fb3", actor="sup1", giver="sup1", source="supervisor", occurred_at=_at(60)))
    run(p.feedback("fb4", goals=["communication"], occurred_at=_at(65)))
    run(p.reflection("rf1", occurred_at=_at(70)))
    run(
        p.reflection(
            "rf2", authors=["s1", "s2"], mode="pair", goals=["communication"], occurred_at=_at(75)
        )
    )
    for goal_id, level in (("hygiene", "good"), ("medication", "not_yet")):
        p.run(
            "assess_goal",
            "sup1",
            pair_id="p1",
            student_id="s1",
            goal_id=goal_id,
            level=level,
            kind="midpoint",
            occurred_at=_at(90),
        )
    last_before = app.store.select_records(start=app.store.max_notification_id())[0].recorded_at
    corrected = p.run(
        "correct_entry",
        "sup1",
        pair_id="p1",
        entry_id="st2",
        changes={"performers": ["s2"], "observers": ["s1"]},
        reason="The partner performed; the roles were swapped when it was recorded",
        occurred_at=(DAY + timedelta(days=3)).isoformat(),
    ).recorded_at
    p.run(
        "retract_entry",
        "sup1",
        pair_id="p1",
        entry_id="st3",
        reason="Recorded twice",
        occurred_at=(DAY + timedelta(days=4)).isoformat(),
    )
    return History(p, last_before + (corrected - last_before) / 2, corrected)
