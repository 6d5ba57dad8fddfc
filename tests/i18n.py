"""What the language tests share: the catalogs as committed, and a check that a page
or report in Swedish or Danish holds no English message of the catalogs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import msgspec
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "src" / "peerlog" / "locale"
TRANSLATED = ("sv", "da")
PLACEHOLDER = re.compile(r"%\(\w+\)s|<[^>]+>|%%")


@cache
def catalog(language: str) -> Catalog:
    with (LOCALES / language / "LC_MESSAGES" / "peerlog.po").open("rb") as po:
        return read_po(po, locale=language)


def english_fragments(language: str) -> list[str]:
    """The words of each message whose translation differs, as a page would show them
    (between placeholders and markup), longest first."""
    found: set[str] = set()
    for message in catalog(language):
        if not message.id:
            continue
        ids = forms(message.id)
        translated = " ".join(forms(message.string))
        for msgid in ids:
            for fragment in PLACEHOLDER.split(msgid):
                words = fragment.strip(" .,:;()[]·/-\n")
                # A fragment the translation also has is no sign of English left.
                # Two letters ("in", "at") are words of Swedish and Danish too.
                if len(words) >= 3 and words not in translated and re.search("[A-Za-z]{2}", words):
                    found.add(words)
    return sorted(found, key=len, reverse=True)


def forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's id or translation, its plural forms if it has them."""
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "script", "code"}:
            self._skip += 1
        self.parts += [
            v or "" for k, v in attrs if k in {"aria-label", "title", "alt", "placeholder"}
        ]

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "code"}:
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def shown_text(html: str) -> str:
    """What a person reads of a page: its text and its labels, not its markup or code."""
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_left(text: str, language: str, data: Iterable[str] = ()) -> list[str]:
    """The English messages of the catalogs found in ``text`` (a page's shown text or a
    report), the record's own texts (``data``: titles, names, notes) taken out first."""
    for value in sorted(data, key=len, reverse=True):
        text = re.sub(r"(?<!\w)" + re.escape(value) + r"(?!\w)", " ", text)
    left = []
    for fragment in english_fragments(language):
        pattern = r"(?<![\w-])" + re.escape(fragment) + r"(?![\w-])"
        if re.search(pattern, text):
            left.append(fragment)
            text = re.sub(pattern, " ", text)
    return left


def record_texts(app: Any, streams: Iterable[str]) -> set[str]:
    """Every text the record holds in these streams (titles, names, notes): what a page
    shows as written, in whatever language it was written."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) > 1:
                # A code (a level of the scale) is shown with spaces for its underscores.
                found.update({value, value.replace("_", " ")})
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for stream in streams:
        for event in app.history(stream):
            walk(msgspec.to_builtins(event))
    return found
