"""peerlog's xAPI profile (docs/xapi/profile.jsonld), and a validator of statements
against its statement templates, as the xAPI Profiles specification (1.0, part two,
sections 8 and 8.1) describes one.

JSONPath is the specification's subset: ``$``, ``.name``, ``['name']``, ``[n]``, ``[*]``
and ``.*``, unions with ``|``; no filters or scripts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

PROFILE_PATH = Path(__file__).resolve().parents[2] / "docs" / "xapi" / "profile.jsonld"

_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\.\*|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]|\[\*\]")


@cache
def profile() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PROFILE_PATH.read_text())
    return loaded


def templates() -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in profile()["templates"]}


def concepts() -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in profile()["concepts"]}


class _Unmatchable:
    """A location that a selector found nothing at."""


UNMATCHABLE = _Unmatchable()


def _parse(path: str) -> list[tuple[str, Any]]:
    path = path.strip()
    if not path.startswith("$"):
        msg = f"a JSONPath starts with $: {path!r}"
        raise ValueError(msg)
    steps: list[tuple[str, Any]] = []
    rest = path[1:]
    while rest:
        match = _STEP.match(rest)
        if match is None:
            msg = f"unsupported JSONPath at {rest!r} in {path!r}"
            raise ValueError(msg)
        name, quoted, index = match.group(1), match.group(2), match.group(3)
        if name is not None:
            steps.append(("key", name))
        elif quoted is not None:
            steps.append(("key", quoted.replace("\\'", "'")))
        elif index is not None:
            steps.append(("index", int(index)))
        else:
            steps.append(("all", None))
        rest = rest[match.end() :]
    return steps


def evaluate(path: str, document: Any) -> list[Any]:
    """The values at ``path`` (a union of paths joined by ``|``)."""
    found: list[Any] = []
    for single in path.split("|"):
        values = [document]
        for kind, arg in _parse(single):
            values = list(_step(values, kind, arg))
        found.extend(values)
    return found


def _step(values: list[Any], kind: str, arg: Any) -> Iterator[Any]:
    for value in values:
        if (kind == "key" and isinstance(value, dict) and arg in value) or (
            kind == "index" and isinstance(value, list) and arg < len(value)
        ):
            yield value[arg]
        elif kind == "all":
            if isinstance(value, list):
                yield from value
            elif isinstance(value, dict):
                yield from value.values()


def _normalised(statement: dict[str, Any]) -> dict[str, Any]:
    """contextActivities with every singleton replaced by a list (xAPI's normalisation)."""
    copy: dict[str, Any] = json.loads(json.dumps(statement))
    activities = copy.get("context", {}).get("contextActivities", {})
    for key, value in list(activities.items()):
        if isinstance(value, dict):
            activities[key] = [value]
    return copy


def rule_problems(rule: dict[str, Any], statement: dict[str, Any]) -> list[str]:
    """What in ``statement`` breaks ``rule`` (8.1)."""
    where = rule["location"]
    values = evaluate(where, statement)
    if "selector" in rule:
        selected: list[Any] = []
        for value in values:
            found = evaluate(rule["selector"], value)
            selected.extend(found or [UNMATCHABLE])
        values = selected
    matchable = [x for x in values if x is not UNMATCHABLE]
    unmatchable = len(values) - len(matchable)
    presence = rule.get("presence")
    problems = []
    if presence == "included":
        if not matchable:
            problems.append(f"{where}: included, but nothing is there")
        if unmatchable:
            problems.append(f"{where}: included, but a selector found nothing")
    if presence == "excluded" and matchable:
        problems.append(f"{where}: excluded, but holds {matchable!r}")
    if presence is None or presence == "included" or (presence == "recommended" and matchable):
        if "any" in rule and not any(x in rule["any"] for x in matchable):
            problems.append(f"{where}: none of {matchable!r} is one of {rule['any']!r}")
        if "all" in rule:
            outside = [x for x in matchable if x not in rule["all"]]
            if outside or unmatchable:
                problems.append(f"{where}: {outside!r} are not all of {rule['all']!r}")
        if "none" in rule:
            inside = [x for x in matchable if x in rule["none"]]
            if inside:
                problems.append(f"{where}: {inside!r} may not be there")
    return problems


def _types(statement: dict[str, Any], kind: str) -> set[str]:
    activities = _normalised(statement).get("context", {}).get("contextActivities", {})
    return {a.get("definition", {}).get("type") for a in activities.get(kind, [])}


def template_problems(
    template_id: str,
    statement: dict[str, Any],
    by_id: dict[str, tuple[str, dict[str, Any]]] | None = None,
) -> list[str]:
    """What in ``statement`` breaks the template (8.0): its determining properties, its
    StatementRef templates (``by_id`` gives the template and statement of each id), and
    its rules; and extension values that break their concept's JSON schema."""
    template = templates()[template_id]
    problems = []
    if statement["verb"]["id"] != template.get("verb", statement["verb"]["id"]):
        problems.append(f"verb is {statement['verb']['id']}, not {template['verb']}")
    obj = statement["object"]
    if "objectActivityType" in template:
        kind = obj.get("definition", {}).get("type")
        if (
            obj.get("objectType", "Activity") != "Activity"
            or kind != template["objectActivityType"]
        ):
            problems.append(f"object type is {kind}, not {template['objectActivityType']}")
    for key, kind in (
        ("contextGroupingActivityType", "grouping"),
        ("contextParentActivityType", "parent"),
        ("contextOtherActivityType", "other"),
        ("contextCategoryActivityType", "category"),
    ):
        missing = set(template.get(key, [])) - _types(statement, kind)
        if missing:
            problems.append(f"no {kind} activity of type {sorted(missing)}")
    if "objectStatementRefTemplate" in template:
        target = by_id.get(obj.get("id", "")) if by_id is not None else None
        if obj.get("objectType") != "StatementRef":
            problems.append("the object is not a StatementRef")
        elif by_id is not None and (
            target is None or target[0] not in template["objectStatementRefTemplate"]
        ):
            problems.append(
                f"the statement referred to ({obj.get('id')}) follows none of {template['objectStatementRefTemplate']}"
            )
    normalised = _normalised(statement)
    for rule in template.get("rules", []):
        problems.extend(rule_problems(rule, normalised))
    problems.extend(extension_problems(statement))
    return problems


def extension_problems(statement: dict[str, Any]) -> list[str]:
    """Extensions of the profile used in the wrong place, or with values their schema
    does not allow (7.2)."""
    known = concepts()
    problems = []
    places = {
        "ContextExtension": statement.get("context", {}).get("extensions", {}),
        "ResultExtension": statement.get("result", {}).get("extensions", {}),
    }
    for place, extensions in places.items():
        for key, value in extensions.items():
            concept = known.get(key)
            if concept is None:
                problems.append(f"extension {key} is not in the profile")
                continue
            if concept["type"] != place:
                problems.append(f"{key} is a {concept['type']}, used as a {place}")
            schema = json.loads(concept["inlineSchema"])
            try:
                jsonschema.validate(value, schema)
            except jsonschema.ValidationError as exc:
                problems.append(f"{key}: {exc.message}")
    return problems
