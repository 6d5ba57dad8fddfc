"""Commands over HTTP: one at a time and in batches, with the record's rules and the
token's on top, and errors that name the command, the field and the rule."""

from __future__ import annotations

from typing import Any

from peerlog.commands import COMMAND_NAMES
from peerlog.web.access import COMMANDS_BY_ROLE
from tests.web.conftest import Web


def _commands(web: Web) -> list[str]:
    return [c.command_id for c in web.app.store.select_commands()]


def test_a_command_is_recorded_with_the_tokens_actor(web: Web) -> None:
    step = web.placement.step("st1")
    del step["actor"]
    response = web.command("s1", step)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "accepted"
    assert body["command"] == "record_step"
    assert body["command_id"] == step["command_id"]
    assert body["events"] == [
        {"event": "pair/p1@3", "position": body["events"][0]["position"], "type": "StepRecorded"}
    ]
    assert web.app.history("pair/p1")[-1].actor == "s1"


def test_resending_a_command_returns_its_first_result_and_writes_nothing(web: Web) -> None:
    step = web.placement.step("st1")
    first = web.command("s1", step)
    before = web.app.store.max_notification_id()
    again = web.command("s1", step)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "status": "repeated"}
    assert web.app.store.max_notification_id() == before


def test_reusing_a_command_id_for_another_command_is_a_conflict(web: Web) -> None:
    step = web.placement.step("st1")
    web.command("s1", step)
    response = web.command("s1", {**step, "note": "something else"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["rule"] == "command_id_reused"
    assert response.json()["command"] == "record_step"


def test_a_command_naming_another_actor_is_refused_and_writes_nothing(web: Web) -> None:
    before = web.app.store.max_notification_id()
    response = web.command(
        "s1", web.placement.step("st1", actor="s2", performers=["s2"], observers=["s1"])
    )
    assert response.status_code == 403
    assert response.json() == {
        "command": "record_step",
        "errors": [
            {
                "field": "actor",
                "rule": "actor_mismatch",
                "message": "this token acts for 's1', and a command is recorded by the token's "
                "actor (leave 'actor' out, or name the token's)",
            }
        ],
    }
    assert web.app.store.max_notification_id() == before


def test_each_role_sends_only_its_commands(web: Web) -> None:
    for who, role in [
        ("s1", "student"),
        ("sup1", "supervisor"),
        ("coord", "coordinator"),
        ("examiner", "examiner"),
    ]:
        allowed = COMMANDS_BY_ROLE[web.services.tokens.authenticate(web.secrets[who]).role]  # type: ignore[union-attr]
        for name in COMMAND_NAMES:
            if name in allowed:
                continue
            response = web.command(who, {"command": name, "command_id": f"x-{who}-{name}"})
            assert response.status_code == 403, (who, name)
            error = response.json()["errors"][0]
            assert (error["field"], error["rule"]) == ("command", "forbidden")
            article = "an" if role == "examiner" else "a"
            assert f"{article} {role} token does not send {name}" in error["message"]


def test_the_record_decides_who_may_record_what(web: Web) -> None:
    # sup2 supervises p2, not p1: the record says no, as it does from the CLI.
    response = web.command("sup2", web.placement.step("st1", actor="sup2"))
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("actor", "not_allowed")
    # s3 is in p2: unknown in p1's session rules, still a member of the course.
    response = web.command("s3", web.placement.step("st2", actor="s3"))
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "actor"
    # A coordinator of another course is unknown in this one.
    response = web.command(
        "coord2",
        {
            "command": "enroll_student",
            "command_id": "e-9",
            "course_id": "vfu-1",
            "student_id": "s9",
        },
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "unknown_actor"


def test_a_supervisor_assesses_and_a_coordinator_opens_a_course(web: Web) -> None:
    assess = web.placement.cmd(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="pass",
        kind="formative",
    )
    assert web.command("sup1", assess).status_code == 201
    course: dict[str, Any] = {
        "command": "open_course",
        "command_id": "open-vfu-3",
        "course_id": "vfu-3",
        "title": "Term 4",
        "starts_on": "2026-09-01",
        "ends_on": "2026-10-30",
        "scale": ["fail", "pass"],
        "pass_level": "pass",
        "goals": [],
    }
    assert web.command("coord", course).status_code == 201
    assert (
        web.command(
            "sup1", {**course, "command_id": "open-vfu-4", "course_id": "vfu-4"}
        ).status_code
        == 403
    )


def test_a_student_acknowledges_their_own_assessment(web: Web) -> None:
    assess = web.placement.cmd(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="pass",
        kind="final",
        assessment_id="final-1",
    )
    assert web.command("sup1", assess).status_code == 201
    ack = {"command": "acknowledge_assessment", "pair_id": "p1", "assessment": "final-1"}
    # The other member of the pair may not; a supervisor's token does not send it.
    response = web.command("s2", {**ack, "command_id": "ack-s2"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "not_allowed"
    response = web.command("sup1", {**ack, "command_id": "ack-sup1"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "forbidden"
    response = web.command("s1", {**ack, "command_id": "ack-s1", "comment": "Thank you"})
    assert response.status_code == 201, response.text
    response = web.command("s1", {**ack, "command_id": "ack-s1-again"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "already_acknowledged"
    web.catch_up()
    timeline = web.get("s1", "/api/pairs/p1/timeline").json()
    (told,) = [i for i in timeline["items"] if i["type"] == "AssessmentAcknowledged"]
    assert told["actor"] == "s1"
    assert told["texts"] == {"comment": "Thank you"}
    audit = web.get("s1", "/api/students/s1/audit?course=vfu-1").json()
    (hygiene,) = [g for g in audit["goals"] if g["goal_id"] == "hygiene"]
    assert told["event"] in hygiene["events"]


def test_rule_and_validation_errors_name_the_command_field_and_rule(web: Web) -> None:
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        (web.placement.step("st1", session_id="nope"), 422, "session_id", "unknown_session"),
        (web.placement.step("st 1"), 422, "step_id", "invalid_id"),
        (web.placement.step("st1", kind="juggling"), 422, "kind", "literal_error"),
        (web.placement.step("st1", goals=["nope"]), 422, "goals", "unknown_goal"),
        ({"command": "record_step", "command_id": "c-1"}, 422, "pair_id", "missing"),
        ({"command": "fly", "command_id": "c-2"}, 422, "command", "unknown_command"),
        ({"command_id": "c-3"}, 422, "command", "missing_command"),
        (
            web.placement.step("st1", occurred_at="2026-03-02T07:00:00"),
            422,
            "occurred_at",
            "timezone_aware",
        ),
    ]
    for body, status, field, rule in cases:
        response = web.command("s1", body)
        assert response.status_code == status, (body, response.text)
        errors = response.json()["errors"]
        assert (errors[0]["field"], errors[0]["rule"]) == (field, rule), errors
    web.command("s1", web.placement.step("st1"))
    duplicate = web.command("s1", web.placement.step("st1"))
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["rule"] == "duplicate_entry"


def test_a_patient_identifier_is_refused_without_repeating_it(web: Web) -> None:
    response = web.command("s1", web.placement.step("st1", note="Patient 19121212-1212 moved"))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("note", "patient_identifier")
    assert "1212" not in response.text


def test_bodies_that_are_not_commands(web: Web) -> None:
    response = web.post(
        "s1", "/api/commands", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["command"] is None
    assert response.json()["errors"][0]["rule"] == "json_invalid"
    response = web.post("s1", "/api/commands", json=[1, 2])
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "not_an_object"
    response = web.post(
        "s1",
        "/api/commands",
        content=b"x" * (9 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["rule"] == "too_large"


def test_no_token_or_a_revoked_one_is_unauthenticated(web: Web) -> None:
    before = web.app.store.max_notification_id()
    response = web.post(None, "/api/commands", json=web.placement.step("st1"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["rule"] == "unauthenticated"
    response = web.client.post(
        "/api/commands", json=web.placement.step("st1"), headers={"Authorization": "Basic czE6czE="}
    )
    assert response.status_code == 401
    web.services.tokens.revoke(actor="s1")
    response = web.command("s1", web.placement.step("st1"))
    assert response.status_code == 401
    assert web.app.store.max_notification_id() == before


# --- batches -------------------------------------------------------------------------


def test_an_offline_shift_arrives_as_one_batch_each_command_with_its_own_result(web: Web) -> None:
    p = web.placement
    sent_before = p.step("st0")
    assert web.command("s1", sent_before).status_code == 201
    repeat_inside = p.step("st2")
    batch = [
        sent_before,  # sent before the client lost the network: a no-op
        p.step("st1"),
        repeat_inside,
        repeat_inside,  # the client retried while offline: a no-op
        p.step("st1", note="the same step id again"),  # a rule broken: rejected alone
        p.step("st3", actor="s2"),  # another actor: refused alone
        p.feedback("fb1", actor="s1", giver="s1", receiver="s2"),
        p.cmd("close_session", "s1", pair_id="p1", session_id="d1"),
        p.step("st4"),  # after the check-out: the session is closed
    ]
    response = web.post("s1", "/api/commands/batch", json={"commands": batch})
    assert response.status_code == 200
    body = response.json()
    statuses = [(r["index"], r["status"], r["http_status"]) for r in body["results"]]
    assert statuses == [
        (0, "repeated", 200),
        (1, "accepted", 201),
        (2, "accepted", 201),
        (3, "repeated", 200),
        (4, "rejected", 409),
        (5, "rejected", 403),
        (6, "accepted", 201),
        (7, "accepted", 201),
        (8, "rejected", 422),
    ]
    assert (body["accepted"], body["repeated"], body["rejected"]) == (4, 2, 3)
    results = body["results"]
    assert results[3]["events"] == results[2]["events"]
    assert results[4]["errors"][0]["rule"] == "duplicate_entry"
    assert results[4]["command_id"] == batch[4]["command_id"]
    assert results[5]["errors"][0]["rule"] == "actor_mismatch"
    assert results[8]["errors"][0]["rule"] == "session_closed"
    recorded = _commands(web)
    for index in (0, 1, 2, 6, 7):
        assert recorded.count(batch[index]["command_id"]) == 1
    for index in (4, 5, 8):
        assert batch[index]["command_id"] not in recorded

    # The client, unsure what arrived, sends the whole batch again: nothing new.
    head = web.app.store.max_notification_id()
    again = web.post("s1", "/api/commands/batch", json={"commands": batch}).json()
    assert [r["status"] for r in again["results"]] == [
        "repeated",
        "repeated",
        "repeated",
        "repeated",
        "rejected",
        "rejected",
        "repeated",
        "repeated",
        "rejected",
    ]
    assert web.app.store.max_notification_id() == head


def test_a_batch_is_a_list_of_1_to_1000_objects(web: Web) -> None:
    for body, field, rule in [
        ({"commands": []}, "body.commands", "too_short"),
        ({"commands": [{"command": "x"}] * 1001}, "body.commands", "too_long"),
        ({"commands": "no"}, "body.commands", "list_type"),
        ({"orders": []}, "body.commands", "missing"),
    ]:
        response = web.post("s1", "/api/commands/batch", json=body)
        assert response.status_code == 422, body
        assert any((e["field"], e["rule"]) == (field, rule) for e in response.json()["errors"]), (
            response.json()
        )
