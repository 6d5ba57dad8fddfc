"""JSON from outside: the limits every command's JSON is held to, on every path.

A command arrives as JSON text (a line of an import, the body of ``POST /api/commands``,
``peerlog record --json``, a string given to ``PeerLog.execute``) or as a value already
decoded (an item of a batch, a mapping given to ``PeerLog.execute``). Before pydantic
sees it, the same limits hold on every path:

* a leading byte-order mark (U+FEFF) is ignored, as RFC 8259 allows;
* a command's JSON is at most :data:`MAX_COMMAND_BYTES` bytes (an import line
  likewise; a decoded value is measured as compact JSON);
* arrays and objects nest at most :data:`MAX_DEPTH` levels (the command object itself
  is the first), so that no parser recurses without bound;
* JSON text is UTF-8, and numbers are within what a double holds.

The nesting of JSON text is found by a scan that skips strings and stops at the limit,
before anything is decoded: a line nested a million levels deep costs a few
microseconds and is rejected, not a ``RecursionError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from peerlog.domain.errors import Violation
from peerlog.i18n import lazy

MAX_COMMAND_BYTES: Final = 1024 * 1024
"""A command's JSON (and a line of an import) is at most 1 MiB."""
MAX_DEPTH: Final = 8
"""Arrays and objects nest at most 8 levels in a command (the command is level 1; the
deepest command of the contract, a correction of a reflection's stages, uses 3)."""
BOM: Final = b"\xef\xbb\xbf"

_STRUCTURE: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
_OPEN: Final = frozenset(b"[{")
_CLOSE: Final = frozenset(b"]}")
_NAMED: Final = re.compile(rb'"(command|command_id)"\s*:\s*"([A-Za-z0-9._:-]{1,64})"')
_HINT_BYTES: Final = 64 * 1024
_DECODER: Final = msgspec.json.Decoder()
_ENCODER: Final = msgspec.json.Encoder()


class JsonRejected(ValueError):
    """JSON that breaks a limit, or is not JSON at all (the violation says which)."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation


def too_deep(field: str = "", limit: int = MAX_DEPTH) -> Violation:
    return Violation(
        field,
        "too_deep",
        lazy(
            "arrays and objects nest more than %(limit)s levels deep; no command needs more than 3",
            limit=limit,
        ),
    )


def too_large(size: int | None = None, limit: int = MAX_COMMAND_BYTES) -> Violation:
    what = f" ({size:,} bytes)" if size is not None else ""
    return Violation(
        "",
        "too_large",
        lazy(
            "a command's JSON is at most %(limit)s bytes%(what)s; send less text",
            limit=f"{limit:,}",
            what=what,
        ),
    )


def named(data: bytes) -> dict[str, str]:
    """The ``command`` and ``command_id`` that JSON text too deep or too large to decode
    seems to name (each only where the text names exactly one), so that its rejection
    can still say which command it was."""
    found: dict[str, set[str]] = {}
    for match in _NAMED.finditer(data, 0, _HINT_BYTES):
        found.setdefault(match.group(1).decode(), set()).add(match.group(2).decode())
    return {key: next(iter(values)) for key, values in found.items() if len(values) == 1}


def strip_bom(data: bytes) -> bytes:
    """The JSON text without a leading byte-order mark."""
    return data.removeprefix(BOM)


def as_bytes(data: str | bytes) -> bytes:
    """JSON text as UTF-8 bytes, without a leading byte-order mark."""
    if isinstance(data, str):
        data = data.removeprefix("\ufeff")
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRejected(
                Violation("", "json_invalid", lazy("not valid JSON: it holds a lone surrogate"))
            ) from None
    return strip_bom(data)


def nesting_exceeds(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects in JSON text nest more than ``limit`` levels.

    Counting brackets settles nearly every command at once; only text with more
    brackets than the limit is scanned, skipping strings, and the scan stops at the
    first level past the limit."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(data):
        char = data[match.start()]
        if char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif char in _CLOSE:
            depth -= 1
    return False


def value_nesting_exceeds(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether a decoded value nests arrays and objects more than ``limit`` levels
    (walked without recursion, so a value that contains itself is simply too deep)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def check_text(data: bytes, *, limit: int = MAX_COMMAND_BYTES, depth: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonRejected` if JSON text (without its BOM) breaks a limit."""
    if len(data) > limit:
        raise JsonRejected(too_large(len(data), limit))
    if nesting_exceeds(data, depth):
        raise JsonRejected(too_deep("", depth))


def check_value(value: object) -> None:
    """Raise :class:`JsonRejected` if a decoded command breaks a limit."""
    if value_nesting_exceeds(value):
        raise JsonRejected(too_deep())
    try:
        size = len(_ENCODER.encode(value))
    except (TypeError, ValueError, OverflowError):
        return  # not plain JSON (a caller's own objects): pydantic says what is wrong
    if size > MAX_COMMAND_BYTES:
        raise JsonRejected(too_large(size))


def decode(data: str | bytes, *, limit: int = MAX_COMMAND_BYTES, depth: int = MAX_DEPTH) -> Any:
    """Decode JSON text held to the limits, or raise :class:`JsonRejected`."""
    text = as_bytes(data)
    check_text(text, limit=limit, depth=depth)
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError as exc:
        raise JsonRejected(
            Violation("", "json_invalid", lazy("not valid JSON: %(exc)s", exc=exc))
        ) from None


@dataclass(frozen=True)
class Batch:
    """A batch body, decoded: its items are judged one by one."""

    body: Any
    """The body, with every item that could not be read replaced by ``None``."""
    unread: dict[int, Violation]
    """Why each of those items (by its index in the body's list) could not be read."""


def _item_spans(text: bytes, key: bytes) -> list[tuple[int, int, int]]:
    """(start, end, nesting) of each item of the list under ``key`` in the top-level
    object of JSON text, found without decoding it (strings are skipped whole)."""
    spans: list[tuple[int, int, int]] = []
    depth = deepest = 0
    last_string = b""
    start: int | None = None
    for match in _STRUCTURE.finditer(text):
        position = match.start()
        char = text[position]
        if char == ord('"'):
            if depth == 1:
                last_string = match.group()
            continue
        if start is not None and depth == 2 and char in b",]":
            spans.append((start, position, max(0, deepest - 2)))
            start, deepest = (position + 1, 0) if char == ord(",") else (None, 0)
            if char == ord("]"):
                depth -= 1
            continue
        if char in _OPEN:
            depth += 1
            if depth == 2 and char == ord("[") and last_string == key and not spans:
                start, deepest = position + 1, 0
            deepest = max(deepest, depth)
        elif char in _CLOSE:
            depth -= 1
    return spans


def _read_item(item: bytes, nesting: int) -> Violation | None:
    """Why an item of a batch cannot be read on its own, or None if it can."""
    if nesting > MAX_DEPTH:
        return too_deep()
    try:
        _DECODER.decode(item)
    except msgspec.DecodeError as exc:
        return Violation("", "json_invalid", lazy("not valid JSON: %(exc)s", exc=exc))
    return None


def decode_batch(data: bytes, *, limit: int, key: str = "commands") -> Batch:
    """Decode a batch body (an object whose ``key`` lists commands) of at most
    ``limit`` bytes, or raise :class:`JsonRejected` if it is not one.

    An item that cannot be read - nested too deeply, or not valid JSON (a lone
    surrogate, a NaN) - does not make the body unreadable: it is cut out (and said why
    in ``unread``), so that every other item is still judged on its own."""
    text = as_bytes(data)
    if len(text) > limit:
        raise JsonRejected(too_large(len(text), limit))
    failure = too_deep("", MAX_DEPTH + 2)
    if not nesting_exceeds(text, MAX_DEPTH + 2):
        try:
            return Batch(_DECODER.decode(text), {})
        except msgspec.DecodeError as exc:
            failure = Violation("", "json_invalid", lazy("not valid JSON: %(exc)s", exc=exc))
    pieces: list[bytes] = []
    unread: dict[int, Violation] = {}
    at = 0
    for index, (start, end, nesting) in enumerate(_item_spans(text, f'"{key}"'.encode())):
        problem = _read_item(text[start:end], nesting)
        if problem is not None:
            unread[index] = problem
            pieces += [text[at:start], b"null"]
            at = end
    pieces.append(text[at:])
    if not unread:
        raise JsonRejected(failure)
    try:
        return Batch(_DECODER.decode(b"".join(pieces)), unread)
    except msgspec.DecodeError:
        raise JsonRejected(failure) from None
