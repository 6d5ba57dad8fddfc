"""Commands written as ``FIELD=VALUE`` words on the command line, turned into the
contract's JSON object, using the command models to know which fields are lists and
which are mappings.

* ``field=text`` - a text, id, date or time, as it would be written in JSON;
* ``list=a,b`` - a list (``list=`` is the empty list);
* ``mapping=key:value,key:value`` - a mapping (``roles=s1:performer,s2:observer``);
* ``mapping.key=text`` - one entry of a mapping (``stages.feelings=Nervous at first``,
  ``changes.performers=s2``);
* ``field:=JSON`` - any JSON value (``goals:='[{"goal_id": "hygiene", "title": "Hygiene"}]'``).
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from peerlog.commands import (
    COMMAND_NAMES,
    COMMAND_TYPES,
    CommandBase,
    FeedbackChangesInput,
    ReflectionChangesInput,
    StepChangesInput,
)
from peerlog.i18n import N_, gettext, lazy
from peerlog.json_text import JsonRejected, decode

Kind = Literal["text", "list", "map", "json"]

MODELS: Final[dict[str, type[CommandBase]]] = dict(zip(COMMAND_NAMES, COMMAND_TYPES, strict=True))
_CHANGES_MODELS: Final = (StepChangesInput, FeedbackChangesInput, ReflectionChangesInput)


class FieldsError(ValueError):
    """A word on the command line that is not ``FIELD=VALUE`` or ``FIELD:=JSON``."""


def _unwrap(annotation: Any) -> Any:
    """The type inside ``X | None`` and ``Annotated[X, ...]``."""
    if get_origin(annotation) is Annotated:
        return _unwrap(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _unwrap(inner[0])
    return annotation


def kind_of(annotation: Any) -> Kind:
    inner = _unwrap(annotation)
    origin = get_origin(inner)
    if origin is list:
        (item,) = get_args(inner)
        return "json" if isinstance(item, type) and issubclass(item, BaseModel) else "list"
    if origin is dict:
        return "map"
    return "text"


def field_kinds(model: type[BaseModel]) -> dict[str, Kind]:
    return {name: kind_of(info.annotation) for name, info in model.model_fields.items()}


_NESTED: Final[dict[str, Kind]] = {
    name: kind for model in _CHANGES_MODELS for name, kind in field_kinds(model).items()
}


def parse_words(command: str | None, words: Iterable[str]) -> dict[str, Any]:
    """The command's fields from ``FIELD=VALUE`` and ``FIELD:=JSON`` words."""
    model = MODELS.get(command or "")
    kinds = field_kinds(model) if model is not None else {}
    out: dict[str, Any] = {}
    for word in words:
        name, is_json, value = _split(word)
        parent, dot, child = name.partition(".")
        if is_json:
            try:
                parsed: Any = decode(value)
            except JsonRejected as exc:
                broken = exc.violation
                values = {"word": repr(word), "reason": broken.message}
                raise FieldsError(
                    lazy("%(word)s: the value after ':=' is %(reason)s", **values)
                    if broken.rule == "json_invalid"
                    else lazy("%(word)s: the value after ':=' is refused: %(reason)s", **values)
                ) from None
        else:
            parsed = _typed(value, _NESTED.get(child, "text") if dot else kinds.get(name, "text"))
        if dot:
            nested = out.setdefault(parent, {})
            if not isinstance(nested, dict):
                raise FieldsError(
                    lazy(
                        "%(word)s: %(field)s was already given a value that is not a mapping",
                        word=repr(word),
                        field=parent,
                    )
                )
            nested[child] = parsed
        else:
            out[name] = parsed
    return out


def _split(word: str) -> tuple[str, bool, str]:
    name, sign, value = word.partition("=")
    if not sign or not name:
        raise FieldsError(
            lazy(
                "%(word)s is not FIELD=VALUE; write for example pair_id=p1, "
                "performers=s1,s2 or goals:='[...]' (see --fields)",
                word=repr(word),
            )
        )
    if name.endswith(":"):
        return name[:-1], True, value
    return name, False, value


def _typed(value: str, kind: Kind) -> Any:
    if kind == "list":
        return [part.strip() for part in value.split(",") if part.strip()]
    if kind == "map":
        pairs = {}
        for part in value.split(","):
            if not part.strip():
                continue
            key, colon, item = part.partition(":")
            if not colon:
                raise FieldsError(
                    lazy(
                        "%(part)s is not KEY:VALUE; write for example "
                        "roles=s1:performer,s2:observer",
                        part=repr(part),
                    )
                )
            pairs[key.strip()] = item.strip()
        return pairs
    return value


_HOW: Final[dict[Kind, str]] = {
    "text": "FIELD=text",
    "list": "FIELD=a,b",
    "map": N_("FIELD=key:value,key:value  or  FIELD.key=value"),
    "json": "FIELD:=JSON",
}


REQUIRED: Final = N_("required")
OPTIONAL: Final = N_("optional")
_SPECIAL: Final = {
    "command_id": (OPTIONAL, N_("--id ID (default: a new id)")),
    "actor": (REQUIRED, N_("--actor ID (or PEERLOG_ACTOR)")),
    "occurred_at": (
        OPTIONAL,
        N_("occurred_at=2026-03-02T08:30 (course's time zone; default: now)"),
    ),
    "changes": (REQUIRED, N_("changes.FIELD=value, e.g. changes.performers=s2")),
    "giver": (OPTIONAL, N_("giver=ID (default: the actor)")),
}
"""The fields the shell fills in or reads otherwise: whether each is needed, and how to
write it (messages, read in the current language)."""


def _example(name: str, annotation: Any) -> str:
    """How to write a field, with its vocabulary where it has one."""
    kind = kind_of(annotation)
    inner = _unwrap(annotation)
    if kind == "text" and get_origin(inner) is Literal:
        return f"{name}={'|'.join(str(v) for v in get_args(inner))}"
    if kind == "text" and inner is date:
        return f"{name}=2026-03-02"
    if kind == "map" and name == "roles":
        return "roles=s1:performer,s2:observer"
    if kind == "map":
        return f"{name}.KEY=text"
    return gettext(_HOW[kind]).replace("FIELD", name)


def describe_fields(command: str) -> list[tuple[str, str, str]]:
    """(field, required or optional, how to write it) for each field of a command, in
    the current language (the fields' names and values are the contract's)."""
    model = MODELS[command]
    rows = []
    for name, info in model.model_fields.items():
        if name == "command":
            continue
        if name in _SPECIAL:
            need, how = _SPECIAL[name]
            rows.append((name, gettext(need), gettext(how)))
            continue
        need = REQUIRED if info.is_required() else OPTIONAL
        rows.append((name, gettext(need), _example(name, info.annotation)))
    return rows
