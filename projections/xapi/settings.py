"""How a deployment shapes its statements: where its accounts and activities live, how
people are named, which xAPI version the store takes.

Privacy by default: people are accounts with an opaque name (a keyed hash of their id),
without display names or free texts; a deployment may choose otherwise, setting by
setting (``docs/xapi.md``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

from peerlog.i18n import lazy
from peerlog.persistence.config import ConfigurationError

HOME_PAGE: Final = "PEERLOG_XAPI_HOMEPAGE"
ACTIVITY_BASE: Final = "PEERLOG_XAPI_ACTIVITY_BASE"
ACCOUNTS: Final = "PEERLOG_XAPI_ACCOUNTS"
NAMES: Final = "PEERLOG_XAPI_NAMES"
TEXTS: Final = "PEERLOG_XAPI_TEXTS"
VERSION: Final = "PEERLOG_XAPI_VERSION"

DEFAULT_HOME_PAGE: Final = "https://peerlog.invalid"
VERSIONS: Final = ("1.0.3", "2.0.0")
Accounts = Literal["opaque", "ids"]
Version = Literal["1.0.3", "2.0.0"]


def _flag(settings: Mapping[str, str], name: str) -> bool:
    value = settings.get(name, "").strip().lower()
    if value in ("", "0", "no", "false", "off"):
        return False
    if value in ("1", "yes", "true", "on"):
        return True
    raise ConfigurationError(
        lazy("%(name)s is %(value)s; give 1 (yes) or 0 (no)", name=name, value=repr(value))
    )


def _iri(settings: Mapping[str, str], name: str, default: str) -> str:
    value = settings.get(name, "").strip() or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            lazy(
                "%(name)s is %(value)s; give an http(s) URL, e.g. https://lms.example.edu",
                name=name,
                value=repr(value),
            )
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class XapiSettings:
    home_page: str = DEFAULT_HOME_PAGE
    """The ``homePage`` of every account: the system whose ids the accounts are."""
    activity_base: str = f"{DEFAULT_HOME_PAGE}/xapi"
    """Where the activities' IRIs start (courses, goals, pairs, sessions, entries)."""
    accounts: Accounts = "opaque"
    names: bool = False
    """Whether agents carry the person's display name."""
    texts: bool = False
    """Whether statements carry the record's free texts (notes, feedback, reflections)."""
    version: Version = "1.0.3"
    pseudonym_key: bytes = field(default=b"", repr=False)
    """The key of the opaque account names (derived from the master key)."""

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str], pseudonym_key: Callable[[], bytes]
    ) -> XapiSettings:
        home_page = _iri(settings, HOME_PAGE, DEFAULT_HOME_PAGE)
        accounts = settings.get(ACCOUNTS, "").strip() or "opaque"
        if accounts not in ("opaque", "ids"):
            raise ConfigurationError(
                lazy(
                    "%(name)s is %(value)s; give opaque (a keyed hash of each id, the "
                    "default) or ids (peerlog's own ids)",
                    name=ACCOUNTS,
                    value=repr(accounts),
                )
            )
        version = settings.get(VERSION, "").strip() or "1.0.3"
        if version not in VERSIONS:
            raise ConfigurationError(
                lazy(
                    "%(name)s is %(value)s; give one of %(choices)s",
                    name=VERSION,
                    value=repr(version),
                    choices=tuple(VERSIONS),
                )
            )
        return cls(
            home_page=home_page,
            activity_base=_iri(settings, ACTIVITY_BASE, f"{home_page}/xapi"),
            accounts=accounts,  # type: ignore[arg-type]
            names=_flag(settings, NAMES),
            texts=_flag(settings, TEXTS),
            version=version,  # type: ignore[arg-type]
            pseudonym_key=pseudonym_key() if accounts == "opaque" else b"",
        )

    @property
    def personal(self) -> bool:
        """Whether statements need the record's personal texts opened."""
        return self.names or self.texts

    def account_name(self, person: str) -> str:
        if self.accounts == "ids":
            return person
        digest = hmac.new(self.pseudonym_key, person.encode(), hashlib.sha256).hexdigest()
        return digest[:32]
