"""What the API reads: the contract's audit and balance JSON exactly, progression,
the supervisor overview, a pair's timeline, and how far the projections have got."""

from __future__ import annotations

from typing import Any

from peerlog.projections import AsOf, audit, balance_report
from peerlog.projections.source import StoreEvents
from tests.support import T0
from tests.web.conftest import Web


def _record_some_work(web: Web) -> None:
    p = web.placement
    for command in [
        p.step("st1"),
        p.step("st2", performers=["s2"], observers=["s1"], goals=["medication"]),
        p.feedback("fb1"),
        p.reflection("rf1"),
    ]:
        assert web.command(command["actor"], command).status_code == 201
    assess = p.cmd(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="good",
        kind="midpoint",
        comment="Safe and calm",
    )
    assert web.command("sup1", assess).status_code == 201
    web.catch_up()


def test_the_audit_is_the_contracts_json_exactly(web: Web) -> None:
    _record_some_work(web)
    moment = web.app.clock()
    response = web.get(
        "sup1", "/api/students/s1/audit", params={"course": "vfu-1", "as_of": moment.isoformat()}
    )
    assert response.status_code == 200
    body = response.json()
    expected = audit(StoreEvents(web.app), "s1", "vfu-1", AsOf(moment))
    assert body == expected
    assert list(body) == ["student_id", "course_id", "as_of", "pass_level", "goals", "integrity"]
    hygiene = body["goals"][0]
    assert hygiene["goal_id"] == "hygiene"
    assert (hygiene["status"], hygiene["latest_level"]) == ("met", "good")
    assert hygiene["evidence"] == {
        "performed": 1,
        "observed": 0,
        "feedback_received": 1,
        "feedback_given": 0,
        "reflections": 1,
        "assessments": 1,
    }
    assert body["integrity"]["verified"] is True


def test_an_audit_as_of_a_time_and_one_before_the_course(web: Web) -> None:
    _record_some_work(web)
    early = (T0.replace(hour=8)).isoformat()
    response = web.get(
        "s1", "/api/students/s1/audit", params={"course": "vfu-1", "as_of_occurred": early}
    )
    assert response.status_code == 200
    assert response.json()["as_of_occurred"] == early
    assert all(g["status"] == "no_evidence" for g in response.json()["goals"])
    response = web.get(
        "s1", "/api/students/s1/audit", params={"course": "vfu-1", "as_of": "2020-01-01"}
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["rule"] == "not_in_record"
    response = web.get(
        "s1", "/api/students/s1/audit", params={"course": "vfu-1", "as_of": "yesterday"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "as_of",
        "rule": "invalid_time",
        "message": "not a time; give ISO 8601 with a UTC offset, like 2026-03-20T18:00:00+01:00 "
        "or 2026-03-20T17:00:00Z, or a date (2026-03-20)",
    }
    response = web.get(
        "s1", "/api/students/s1/audit", params={"course": "vfu-1", "as_of": "2026-03-20T18:00:00"}
    )
    assert response.json()["errors"][0]["rule"] == "timezone_aware"


def test_the_balance_is_the_contracts_json_exactly(web: Web) -> None:
    _record_some_work(web)
    moment = web.app.clock()
    response = web.get("s2", "/api/pairs/p1/balance", params={"as_of": moment.isoformat()})
    body = response.json()
    assert response.status_code == 200
    assert body == balance_report(StoreEvents(web.app), "p1", AsOf(moment))
    assert list(body) == ["pair_id", "as_of", "members", "performer_balance", "feedback_balance"]
    now = web.get("s2", "/api/pairs/p1/balance").json()
    assert now["members"]["s1"] == {
        "performer": 1,
        "observer": 1,
        "feedback_given": 0,
        "feedback_received": 1,
        "reflections": 1,
    }
    assert now["performer_balance"] == 1.0


def test_a_students_progression_from_the_read_models(web: Web) -> None:
    _record_some_work(web)
    response = web.get("s1", "/api/students/s1/progression", params={"course": "vfu-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {
        "goals": 3,
        "met": 1,
        "not_met": 0,
        "evidenced": 1,
        "no_evidence": 1,
        "retired": 0,
    }
    goals = {g["goal_id"]: g for g in body["goals"]}
    assert [g["goal_id"] for g in body["goals"]] == ["hygiene", "medication", "communication"]
    assert goals["hygiene"]["status"] == "met"
    assert goals["medication"]["evidence"]["observed"] == 1
    assert goals["communication"]["status"] == "no_evidence"
    assert body["position"] == web.app.store.max_notification_id()
    # The read models agree with the audit, folded from the record.
    audited = web.get("s1", "/api/students/s1/audit", params={"course": "vfu-1"}).json()
    assert {g["goal_id"]: (g["status"], g["evidence"]) for g in audited["goals"]} == {
        g["goal_id"]: (g["status"], g["evidence"]) for g in body["goals"]
    }


def test_goals_by_students_one_page_at_a_time(web: Web) -> None:
    _record_some_work(web)
    response = web.get("coord", "/api/courses/vfu-1/progression", params={"limit": 4})
    body = response.json()
    assert response.status_code == 200
    assert [s["student_id"] for s in body["students"]] == ["s1", "s2", "s3", "s4"]
    assert (body["total"], body["limit"], body["offset"], body["next_offset"]) == (6, 4, 0, 4)
    assert [g["goal_id"] for g in body["goals"]] == ["hygiene", "medication", "communication"]
    assert body["students"][0]["goals"]["hygiene"]["status"] == "met"
    rest = web.get(
        "coord", "/api/courses/vfu-1/progression", params={"limit": 4, "offset": 4}
    ).json()
    assert [s["student_id"] for s in rest["students"]] == ["s5", "s6"]
    assert rest["next_offset"] is None
    mine = web.get("sup1", "/api/courses/vfu-1/progression").json()
    assert [s["student_id"] for s in mine["students"]] == ["s1", "s2"]


def test_the_overview_puts_flagged_pairs_first(web: Web) -> None:
    p = web.placement
    for i in range(3):
        assert web.command("s1", p.step(f"st{i}")).status_code == 201
    web.catch_up()
    response = web.get("coord", "/api/overview", params={"now": "2026-03-10T12:00:00+00:00"})
    assert response.status_code == 200
    body = response.json()
    assert [pair["pair_id"] for pair in body["pairs"]] == ["p1", "p2"]
    first = body["pairs"][0]
    assert [f["flag"] for f in first["flags"]] == ["performer_imbalance"]
    assert first["members"]["s1"]["performer"] == 3
    assert first["performer_balance"] == 0.0
    assert body["pairs"][1]["flags"] == []
    assert (body["position"], body["lag"]) == (web.app.store.max_notification_id(), 0)
    assert body["now"] == "2026-03-10T12:00:00+00:00"
    assert body["total"] == 2
    # A supervisor sees their own pairs.
    mine = web.get("sup2", "/api/overview", params={"now": "2026-03-10T12:00:00+00:00"}).json()
    assert [pair["pair_id"] for pair in mine["pairs"]] == ["p2"]
    paged = web.get("coord", "/api/overview", params={"limit": 1, "offset": 1}).json()
    assert [pair["pair_id"] for pair in paged["pairs"]] == ["p2"]
    # Past the course's midpoint, goals without evidence are flagged too.
    late = web.get("sup2", "/api/overview", params={"now": "2026-04-20T12:00:00+00:00"}).json()
    assert [f["flag"] for f in late["pairs"][0]["flags"]] == ["goals_without_evidence"]


def test_a_pairs_timeline_one_page_at_a_time(web: Web) -> None:
    _record_some_work(web)
    response = web.get("sup1", "/api/pairs/p1/timeline", params={"limit": 3})
    body = response.json()
    assert response.status_code == 200
    assert (body["pair_id"], body["course_id"], body["events"], body["total"]) == (
        "p1",
        "vfu-1",
        7,
        7,
    )
    assert [i["type"] for i in body["items"]] == ["PairFormed", "SessionOpened", "StepRecorded"]
    assert body["next_offset"] == 3
    everything = web.get("sup1", "/api/pairs/p1/timeline").json()["items"]
    assessed = everything[-1]
    assert assessed["type"] == "GoalAssessed"
    assert assessed["texts"] == {"comment": "Safe and calm"}
    assert assessed["state"]["performer_balance"] == 1.0
    only_s2 = web.get(
        "sup1", "/api/pairs/p1/timeline", params={"student": "s2", "session": "d1"}
    ).json()
    assert [i["type"] for i in only_s2["items"]] == [
        "SessionOpened",
        "StepRecorded",
        "StepRecorded",
        "FeedbackGiven",
    ]


def test_a_student_reads_what_names_them_not_what_a_partner_wrote_or_was_told_alone(
    web: Web,
) -> None:
    _record_some_work(web)
    p = web.placement
    partner = p.reflection("rf2", actor="s2", authors=["s2"])
    assert web.command("s2", partner).status_code == 201
    assess = p.cmd(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s2",
        goal_id="hygiene",
        level="pass",
        kind="midpoint",
        comment="Needs practice",
    )
    assert web.command("sup1", assess).status_code == 201
    items = {i["event"]: i for i in web.get("s1", "/api/pairs/p1/timeline").json()["items"]}
    own = next(
        i for i in items.values() if i["type"] == "ReflectionRecorded" and i["entry_id"] == "rf1"
    )
    assert own["texts"]["description"].startswith("I changed a dressing")
    assert own["withheld"] == []
    theirs = next(
        i for i in items.values() if i["type"] == "ReflectionRecorded" and i["entry_id"] == "rf2"
    )
    assert theirs["texts"] == {}
    assert theirs["withheld"] == ["description", "feelings"]
    assert "stages" not in theirs["fields"]
    their_assessment = [
        i
        for i in items.values()
        if i["type"] == "GoalAssessed" and i["fields"]["student_id"] == "s2"
    ]
    assert len(their_assessment) == 1
    assert "level" not in their_assessment[0]["fields"]
    assert "pass" not in their_assessment[0]["summary"]
    assert their_assessment[0]["withheld"] == ["comment", "level"]
    assert their_assessment[0]["summary"] == (
        "midpoint assessment of s2 on goal hygiene (level withheld: students are assessed "
        "one by one)"
    )
    # A Swedish student reads why in Swedish.
    swedish = web.get("s1", "/api/pairs/p1/timeline", headers={"accept-language": "sv"})
    assert [
        i["summary"]
        for i in swedish.json()["items"]
        if i["type"] == "GoalAssessed" and i["fields"]["student_id"] == "s2"
    ] == [
        "bedömning (midpoint) av s2 på målet hygiene (nivån visas inte: studenter bedöms var för sig)"
    ]
    # The supervisor reads it all.
    full = web.get("sup1", "/api/pairs/p1/timeline").json()["items"]
    assert any(i["texts"].get("comment") == "Needs practice" for i in full)


def test_texts_of_a_forgotten_person_read_as_erased(web: Web) -> None:
    _record_some_work(web)
    web.app.forget("s2", actor="coord", command_id="forget-s2")
    items = web.get("sup1", "/api/pairs/p1/timeline").json()["items"]
    feedback = next(i for i in items if i["type"] == "FeedbackGiven")
    assert feedback["texts"] == {"strengths": "[erased]", "improvements": "[erased]"}
    assert feedback["erased"] == ["strengths", "improvements"]
    own = next(i for i in items if i["type"] == "ReflectionRecorded")
    assert own["erased"] == []  # s1's own reflection is s1's alone


def test_projection_status_and_courses(web: Web) -> None:
    response = web.get("sup1", "/api/projections")
    body: dict[str, Any] = response.json()
    assert response.status_code == 200
    assert [p["projection"] for p in body["projections"]] == [
        "progression",
        "participation",
        "trends",
    ]
    assert body["lag"] == 0
    web.command("s1", web.placement.step("st1"))
    behind = web.get("sup1", "/api/projections").json()
    assert behind["lag"] == 1
    assert behind["head"] == behind["position"] + 1
    assert web.get("sup1", "/api/courses").json() == {
        "courses": [{"course_id": "vfu-1", "title": "Clinical placement, term 3"}]
    }
    assert web.get("coord2", "/api/courses").json() == {
        "courses": [{"course_id": "vfu-2", "title": "Another placement"}]
    }
    assert web.get("examiner", "/api/me").json()["courses"] == ["vfu-1"]
    pairs = web.get("coord", "/api/pairs", params={"limit": 1}).json()
    assert pairs["items"] == [
        {
            "pair_id": "p1",
            "course_id": "vfu-1",
            "students": ["s1", "s2"],
            "supervisors": ["sup1"],
            "active": True,
        }
    ]
    assert pairs["next_offset"] == 1


def test_health_needs_no_token(web: Web) -> None:
    response = web.get(None, "/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_student_does_not_read_a_correction_of_what_a_partner_wrote_alone(web: Web) -> None:
    _record_some_work(web)
    p = web.placement
    assert web.command("s2", p.reflection("rf2", actor="s2", authors=["s2"])).status_code == 201
    correction = p.cmd(
        "correct_entry",
        "s2",
        pair_id="p1",
        entry_id="rf2",
        changes={"stages": {"description": "I dressed the wound on the left leg"}},
        reason="Wrote the wrong leg",
    )
    assert web.command("s2", correction).status_code == 201
    items = web.get("s1", "/api/pairs/p1/timeline").json()["items"]
    corrected = next(i for i in items if i["type"] == "EntryCorrected")
    assert corrected["texts"] == {}
    assert sorted(corrected["withheld"]) == ["new description", "reason"]
    assert "reason" not in corrected["fields"]
    assert "stages" not in corrected["fields"]["changes"]
    assert "left leg" not in str(corrected)
    # The partner who wrote it reads it.
    own = web.get("s2", "/api/pairs/p1/timeline").json()["items"]
    theirs = next(i for i in own if i["type"] == "EntryCorrected")
    assert "left leg" in str(theirs)


def test_a_pairs_timeline_by_goal_and_by_kind(web: Web) -> None:
    _record_some_work(web)
    p = web.placement
    # st1 is corrected to name medication: the correction and st1 count as about it.
    fix = p.cmd("correct_entry", "s1", pair_id="p1", entry_id="st1", reason="wrong goal")
    fix["changes"] = {"goals": ["medication"]}
    assert web.command("s1", fix).status_code == 201
    about = web.get("sup1", "/api/pairs/p1/timeline", params={"goal": "medication"}).json()
    assert [(i["type"], i["entry_id"]) for i in about["items"]] == [
        ("StepRecorded", "st2"),
        ("EntryCorrected", "st1"),
    ]
    steps = web.get("sup1", "/api/pairs/p1/timeline", params={"kind": "step", "limit": 1})
    body = steps.json()
    assert [i["entry_id"] for i in body["items"]] == ["st1"]
    assert (body["total"], body["next_offset"], body["events"]) == (2, 1, 8)
    corrections = web.get("sup1", "/api/pairs/p1/timeline", params={"kind": "correction"})
    assert {i["type"] for i in corrections.json()["items"]} == {"EntryCorrected"}


def test_an_unknown_goal_or_kind_in_a_timeline_is_a_message(web: Web) -> None:
    _record_some_work(web)
    goal = web.get("sup1", "/api/pairs/p1/timeline", params={"goal": "hygeine"})
    assert goal.status_code == 422
    [error] = goal.json()["errors"]
    assert (error["field"], error["rule"]) == ("goal", "unknown_goal")
    assert "'hygeine' is not a goal of course vfu-1" in error["message"]
    kind = web.get("sup1", "/api/pairs/p1/timeline", params={"kind": "steps"})
    assert kind.status_code == 422
    [error] = kind.json()["errors"]
    assert (error["field"], error["rule"]) == ("kind", "unknown_kind")
    assert "the kinds are pair, session, step" in error["message"]
    swedish = web.get(
        "sup1", "/api/pairs/p1/timeline", params={"kind": "x"}, headers={"accept-language": "sv"}
    )
    assert "'x' är inte" in swedish.json()["errors"][0]["message"]


def test_the_overview_s_flag_messages_follow_the_language_and_their_codes_stay(web: Web) -> None:
    p = web.placement
    for i in range(3):
        assert web.command("s1", p.step(f"st{i}")).status_code == 201
    web.catch_up()
    said = {}
    for language in ("en", "sv", "da"):
        body = web.get(
            "coord",
            "/api/overview",
            params={"now": "2026-03-10T12:00:00+00:00"},
            headers={"accept-language": language},
        ).json()
        (flag,) = body["pairs"][0]["flags"]
        assert flag["flag"] == "performer_imbalance"
        said[language] = flag["message"]
    # One session so far: the singular, in each language's words.
    assert said["en"].startswith("performer balance 0.00 over the last session, below the ")
    assert said["sv"].startswith("utförarbalans 0,00 under det senaste passet, under gränsen")
    assert said["da"].startswith("udførerbalance 0,00 over den seneste vagt, under grænsen")
