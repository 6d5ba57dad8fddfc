"""Personal texts sealed under the keys of the people they are by or about.

Every free-text field an event class marks as ``personal_text`` is stored sealed:

* each person has a random 256-bit key (:mod:`peerlog.persistence.keys`), wrapped
  under the master key (:mod:`peerlog.persistence.masterkey`);
* a text's key is derived with HKDF-SHA256 from the keys of all its subjects (the
  people named by the event's subject fields, sorted by id), so that destroying the
  key of any one of them makes the text unreadable;
* the text is encrypted with AES-256-GCM under that key, with a fresh 96-bit nonce
  and the event's stream and version as associated data (a sealed text cannot be
  moved to another event);
* the stored value is still a JSON string, a self-describing envelope::

      peerlog:sealed:1;<subject ids, comma-separated>;<base64 nonce>;<base64 ciphertext>

  An envelope with an empty nonce and ciphertext is a text that was erased when it
  was recorded (it was about someone already forgotten).

Opening a text whose key is gone gives :data:`peerlog.domain.erasure.ERASED`.

Keys are cached in memory: derived keys used for sealing for ten minutes (they never
open anything), person keys and derived keys used for opening for
``PEERLOG_KEY_CACHE_SECONDS`` (default 5). That is the bound on how long another
process can go on opening a person's texts after they were forgotten; the process
that forgets drops its cached keys at once.
"""

from __future__ import annotations

import binascii
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.persistence import MapperDeserialisationError

from peerlog.domain.erasure import ERASED, ErasedText
from peerlog.domain.events import DomainEvent
from peerlog.i18n import N_, lazy
from peerlog.persistence.config import ConfigurationError
from peerlog.persistence.keys import KeyStore, MasterKeyChanged, Progress
from peerlog.persistence.masterkey import KEY_BYTES, MasterKeyError

ENVELOPE: Final = "peerlog:sealed:1"
ENVELOPE_PREFIX: Final = ENVELOPE + ";"
NONCE_BYTES: Final = 12
KEY_CACHE_SECONDS: Final = "PEERLOG_KEY_CACHE_SECONDS"
DEFAULT_KEY_CACHE_SECONDS: Final = 5.0
SEALING_CACHE_SECONDS: Final = 600.0
SEALING_CACHE_SIZE: Final = 10_000
_TEXT_KEY_SALT: Final = b"peerlog text key 1"
_PERSON_KEY_AAD: Final = b"peerlog person key 1:"
_RECORD_KEYS_AAD: Final = b"peerlog record keys 1"
_DIGEST_KEY_INFO: Final = b"peerlog command digest 1"
_PSEUDONYM_KEY_INFO: Final = b"peerlog xapi pseudonym 1"
_ABSENT: Final = b""
"""A person with no key at all (cached for opening only: sealing creates the key)."""


_WRONG_MASTER_KEY: Final = N_(
    "the master key does not open the person keys of this store: "
    "PEERLOG_MASTER_KEY (or the master key file) is not the one they were made with"
)


def _wrap(cipher: AESGCM, data: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, data, aad)


def _unwrap(cipher: AESGCM, wrapped: bytes, aad: bytes) -> bytes:
    try:
        return cipher.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
    except InvalidTag:
        raise MasterKeyError(lazy(_WRONG_MASTER_KEY)) from None


def _derived(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


class AlreadyRotated(Exception):
    """The store's keys are already wrapped under the new master key."""


class SealedTextError(MapperDeserialisationError):
    """A sealed text cannot be opened although its key exists: it was altered."""


def key_cache_seconds(environ: Mapping[str, str]) -> float:
    """How long opened keys are cached (``PEERLOG_KEY_CACHE_SECONDS``)."""
    value = environ.get(KEY_CACHE_SECONDS)
    if not value:
        return DEFAULT_KEY_CACHE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:  # an hour is a generous upper bound
        raise ConfigurationError(
            lazy("%(name)s is a number of seconds from 0 to 3600", name=KEY_CACHE_SECONDS)
        )
    return seconds


def derive_text_key(person_keys: Iterable[bytes], subjects: str) -> bytes:
    """The key of a text whose subjects are ``subjects`` (sorted ids, comma-separated),
    from their keys in that order."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_TEXT_KEY_SALT, info=subjects.encode()
    ).derive(b"".join(person_keys))


class KeyRing:
    """Person keys: created on first use, wrapped under the master key, cached briefly."""

    def __init__(
        self,
        store: KeyStore,
        master_key: Callable[[], bytes],
        *,
        cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._load_master_key = master_key
        self._master: AESGCM | None = None
        # The record keys as stored (None: derived from the master key), and opened.
        self._record: tuple[bytes | None, bytes, bytes] | None = None
        self.clock = clock
        self._lock = threading.Lock()
        # person -> (key, or None if forgotten, or _ABSENT; when it was read)
        self._people: dict[str, tuple[bytes | None, float]] = {}
        # subjects -> (cipher, or None if a subject's key is gone; until when to use it)
        # Read directly by TextSealer, which opens many texts in a row.
        self.opening: dict[str, tuple[AESGCM | None, float]] = {}
        self._sealing: dict[str, tuple[AESGCM, float]] = {}

    def __repr__(self) -> str:
        return f"<KeyRing cache_seconds={self.cache_seconds}>"

    # --- the master key --------------------------------------------------------------

    def _wrapper(self) -> AESGCM:
        if self._master is None:
            self._master = AESGCM(self._load_master_key())
        return self._master

    def _record_keys(self) -> tuple[bytes | None, bytes, bytes]:
        """(as stored, digest key, pseudonym key). A store whose master key was never
        changed derives them from the master key; one whose master key was changed
        keeps them wrapped under the new one, so that digests and pseudonyms made
        before still hold."""
        if self._record is None:
            stored = self.store.record_keys()
            if stored is None:
                master = self._load_master_key()
                keys = _derived(master, _DIGEST_KEY_INFO) + _derived(master, _PSEUDONYM_KEY_INFO)
            else:
                keys = _unwrap(self._wrapper(), stored, _RECORD_KEYS_AAD)
            self._record = (stored, keys[:KEY_BYTES], keys[KEY_BYTES:])
        return self._record

    def digest_key(self) -> bytes:
        """A key for command digests, kept with (or derived from) the master key, so
        that a digest cannot be used to test guesses of the texts of a command."""
        return self._record_keys()[1]

    def pseudonym_key(self) -> bytes:
        """A key for the opaque account names of xAPI statements, kept with (or derived
        from) the master key, so that a name cannot be traced back to an id without it."""
        return self._record_keys()[2]

    def _wrap(self, person: str, key: bytes) -> bytes:
        return _wrap(self._wrapper(), key, _PERSON_KEY_AAD + person.encode())

    def _unwrap(self, person: str, wrapped: bytes) -> bytes:
        return _unwrap(self._wrapper(), wrapped, _PERSON_KEY_AAD + person.encode())

    def _insert(self, wrapped: dict[str, bytes]) -> None:
        try:
            self.store.insert(wrapped, record_keys=self._record_keys()[0])
        except MasterKeyChanged:
            # Rewrapped since this process looked: under its own key, or it may not go on.
            self._record = None
            self.store.insert(wrapped, record_keys=self._record_keys()[0])

    # --- changing the master key ----------------------------------------------------

    def rotate(self, new_key: bytes, *, batch: int = 1000, progress: Progress | None = None) -> int:
        """Rewrap every person key, and the record keys, under ``new_key``, in one
        transaction, and remove the old wrapped bytes from the database files; how many
        person keys were rewrapped. Raises :class:`AlreadyRotated` (after finishing
        the removal) if the store's keys are under ``new_key`` already."""
        new = AESGCM(new_key)
        if self._under(new):
            self.store.remove_old_bytes()
            raise AlreadyRotated
        old = self._wrapper()
        old_master = self._load_master_key()
        if secrets.compare_digest(old_master, new_key):
            raise MasterKeyError(
                lazy(
                    "the new master key is the one configured now; keep the old key "
                    "configured while the keys are rotated, and give the new one apart from it"
                )
            )

        def rewrap(person: str, wrapped: bytes) -> bytes:
            aad = _PERSON_KEY_AAD + person.encode()
            return _wrap(new, _unwrap(old, wrapped, aad), aad)

        def record_keys(stored: bytes | None) -> bytes:
            keys = (
                _derived(old_master, _DIGEST_KEY_INFO) + _derived(old_master, _PSEUDONYM_KEY_INFO)
                if stored is None
                else _unwrap(old, stored, _RECORD_KEYS_AAD)
            )
            return _wrap(new, keys, _RECORD_KEYS_AAD)

        count = self.store.rewrap(rewrap, record_keys, batch=batch, progress=progress)
        self._master = new
        self._load_master_key = lambda: new_key
        self._record = None
        with self._lock:
            self._people.clear()
            self.opening.clear()
            self._sealing.clear()
        return count

    def _under(self, cipher: AESGCM) -> bool:
        """Whether the store's record keys are wrapped under this cipher's key."""
        stored = self.store.record_keys()
        if stored is None:
            return False
        try:
            _unwrap(cipher, stored, _RECORD_KEYS_AAD)
        except MasterKeyError:
            return False
        return True

    # --- person keys -----------------------------------------------------------------

    def _read(self, people: Collection[str], *, create: bool) -> None:
        """Read the people's keys into the cache, creating missing ones if asked."""
        rows = self.store.select(people)
        if create:
            missing = [p for p in people if p not in rows]
            if missing:
                self._insert({p: self._wrap(p, os.urandom(KEY_BYTES)) for p in missing})
                # Another process may have created some of them first: use what is stored.
                rows.update(self.store.select(missing))
        now = self.clock()
        for person in people:
            wrapped = rows.get(person, _ABSENT)
            key = self._unwrap(person, wrapped) if wrapped else wrapped
            self._people[person] = (key, now)

    def _fresh(self, person: str, now: float, *, create: bool) -> bool:
        entry = self._people.get(person)
        if entry is None or entry[1] + self.cache_seconds <= now:
            return False
        return not (create and entry[0] == _ABSENT)

    def prefetch(self, people: Iterable[str], *, create: bool = False) -> None:
        """Read, in one query, the keys of those people not freshly cached; ``create``:
        and create the missing ones, in one insert (before texts about them are sealed)."""
        now = self.clock()
        stale = sorted({p for p in people if not self._fresh(p, now, create=create)})
        if stale:
            with self._lock:
                self._read(stale, create=create)

    def _keys(self, people: tuple[str, ...], *, create: bool) -> tuple[list[bytes | None], float]:
        """The people's keys (None where gone) and when the oldest of them was read."""
        now = self.clock()
        stale = [p for p in people if not self._fresh(p, now, create=create)]
        if stale:
            with self._lock:
                self._read(stale, create=create)
        # A key dropped meanwhile (forgotten by this process) counts as gone.
        entries = [self._people.get(p, (None, now)) for p in people]
        keys = [key or None for key, _ in entries]
        return keys, min(read for _, read in entries)

    def sealing_cipher(
        self,
        subjects: str,
        people: tuple[str, ...],
        everyone: Callable[[], Collection[str]] | None = None,
    ) -> AESGCM | None:
        """The cipher for sealing a text about ``people`` (None if one was forgotten).

        On a cache miss, ``everyone`` names more people whose texts will soon be sealed:
        their keys are made (and read) with these, in one insert."""
        cached = self._sealing.get(subjects)
        now = self.clock()
        if cached is not None and cached[1] > now:
            return cached[0]
        if everyone is not None:
            self.prefetch({*people, *everyone()}, create=True)
        keys, _ = self._keys(people, create=True)
        if any(key is None for key in keys):
            return None
        cipher = AESGCM(derive_text_key([k for k in keys if k is not None], subjects))
        if len(self._sealing) >= SEALING_CACHE_SIZE:
            self._sealing.pop(next(iter(self._sealing)))
        self._sealing[subjects] = (cipher, now + SEALING_CACHE_SECONDS)
        return cipher

    def opening_cipher(
        self, subjects: str, everyone: Callable[[], Collection[str]] | None = None
    ) -> AESGCM | None:
        """The cipher for opening a text about ``subjects`` (None if a key is gone).

        On a cache miss, ``everyone`` names more people whose keys will soon be
        needed: they are read in the same query."""
        cached = self.opening.get(subjects)
        if cached is not None and cached[1] > self.clock():
            return cached[0]
        people = tuple(subjects.split(","))
        if everyone is not None:
            self.prefetch({*people, *everyone()})
        keys, oldest = self._keys(people, create=False)
        cipher = (
            None
            if any(key is None for key in keys)
            else AESGCM(derive_text_key([k for k in keys if k is not None], subjects))
        )
        self.opening[subjects] = (cipher, oldest + self.cache_seconds)
        return cipher

    # --- forgetting ------------------------------------------------------------------

    def forgotten(self, people: Collection[str]) -> set[str]:
        """Those of ``people`` who were forgotten (read from the store, not the cache)."""
        return {p for p, wrapped in self.store.select(people).items() if wrapped is None}

    def destroy(self, person: str, when: Any) -> None:
        """Destroy the person's key in the store and in this process's caches."""
        self._drop(person)
        self.store.destroy(person, when)
        # Another thread may have read the key again while it was being destroyed.
        self._drop(person)

    def _drop(self, person: str) -> None:
        with self._lock:
            self._people.pop(person, None)
            for cache in (self.opening, self._sealing):
                for subjects in [s for s in list(cache) if person in s.split(",")]:
                    cache.pop(subjects, None)


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


_Plan = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
_PLANS: dict[type[DomainEvent], _Plan] = {}


def _plan(cls: type[DomainEvent]) -> _Plan:
    """(top-level field, the rest of the path, subject fields) for each personal text."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = tuple(
            (parts[0], tuple(parts[1:]), text.subjects)
            for text in cls.personal_text
            for parts in [text.path.split(".")]
        )
        _PLANS[cls] = plan
    return plan


def _named(event: DomainEvent, fields: tuple[str, ...]) -> set[str]:
    """The people the event names in ``fields`` (ids, or lists or maps of ids)."""
    people: set[str] = set()
    for name in fields:
        value = getattr(event, name, None)
        if isinstance(value, str):
            people.add(value)
        elif value is not None:
            people.update(value)
    return people


def _subjects(event: DomainEvent, fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(_named(event, fields)))


def _holds_text(value: Any, path: tuple[str, ...]) -> bool:
    """Whether there is a text at ``path`` in ``value`` that sealing encrypts (not one
    left out or erased already)."""
    if value is None:
        return False
    if not path:
        return isinstance(value, str) and not isinstance(value, ErasedText)
    head, rest = path[0], path[1:]
    if head == "*":
        return any(_holds_text(item, rest) for item in value.values())
    return _holds_text(getattr(value, head, None), rest)


def people_of(events: Iterable[DomainEvent], *, to_seal: bool = False) -> set[str]:
    """The subjects of the events' personal texts (the people whose keys open them);
    ``to_seal``: only of the texts sealing encrypts (whose keys it creates)."""
    people: set[str] = set()
    for event in events:
        for field, rest, subject_fields in _plan(type(event)):
            if not to_seal or _holds_text(getattr(event, field), rest):
                people |= _named(event, subject_fields)
    return people


def _transform(value: Any, path: tuple[str, ...], change: Callable[[str], str]) -> Any:
    """``value`` with the texts at ``path`` inside it changed."""
    if value is None:
        return None
    if not path:
        return change(value) if isinstance(value, str) else value
    head, rest = path[0], path[1:]
    if head == "*":
        return {key: _transform(item, rest, change) for key, item in value.items()}
    inner = getattr(value, head, None)
    if inner is None:
        return value
    return msgspec.structs.replace(value, **{head: _transform(inner, rest, change)})


def personal_texts(event: DomainEvent) -> list[str]:
    """Every personal text of the event, as it holds them (sealed or opened)."""
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    for field, rest, _ in _plan(type(event)):
        _transform(getattr(event, field), rest, collect)
    return found


def _associated_data(event: DomainEvent) -> bytes:
    return f"{event.originator_id}\x00{event.originator_version}".encode()


class TextSealer:
    """The mapper's :class:`~peerlog.persistence.mapper.TextProtector`: seals personal
    texts before they are stored, and opens them (or marks them erased) when read."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def __repr__(self) -> str:
        return f"<TextSealer {self.keys!r}>"

    def seal(self, event: DomainEvent) -> DomainEvent:
        return self._seal(event, None)

    def seal_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]:
        """Seal many events; the first key missing from the cache is made (or read)
        together with the keys of everyone the other events' texts are about, in one
        insert, not one for each event naming someone new."""
        events = list(events)
        batch = [events]

        def everyone() -> set[str]:
            return people_of(batch.pop() if batch else (), to_seal=True)

        return [self._seal(event, everyone) for event in events]

    def _seal(self, event: DomainEvent, everyone: Callable[[], set[str]] | None) -> DomainEvent:
        plan = _plan(type(event))
        if not plan:
            return event
        aad = _associated_data(event)
        changes: dict[str, Any] = {}
        for field, rest, subject_fields in plan:
            people = _subjects(event, subject_fields)
            if not people or any("," in p or ";" in p for p in people):
                msg = f"a personal text of {type(event).__name__} needs subjects that are ids"
                raise ValueError(msg)
            seal_one = partial(self._seal_text, people=people, aad=aad, everyone=everyone)
            current = changes.get(field, getattr(event, field))
            changes[field] = _transform(current, rest, seal_one)
        return msgspec.structs.replace(event, **changes) if changes else event

    def _seal_text(
        self,
        text: str,
        *,
        people: tuple[str, ...],
        aad: bytes,
        everyone: Callable[[], set[str]] | None,
    ) -> str:
        subjects = ",".join(people)
        if isinstance(text, ErasedText):
            return f"{ENVELOPE_PREFIX}{subjects};;"
        cipher = self.keys.sealing_cipher(subjects, people, everyone)
        if cipher is None:
            # A subject was forgotten: a text about them is not kept.
            return f"{ENVELOPE_PREFIX}{subjects};;"
        nonce = os.urandom(NONCE_BYTES)
        sealed = cipher.encrypt(nonce, text.encode(), aad)
        return f"{ENVELOPE_PREFIX}{subjects};{_b64(nonce)};{_b64(sealed)}"

    def open(self, event: DomainEvent) -> DomainEvent:
        return self._open(event, None)

    def open_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]:
        """Open many events; the first key missing from the cache is read together with
        the keys of everyone the other events need, in one query."""
        events = list(events)
        batch = [events]

        def everyone() -> set[str]:
            return people_of(batch.pop() if batch else ())

        return [self._open(event, everyone) for event in events]

    def _open(self, event: DomainEvent, everyone: Callable[[], set[str]] | None) -> DomainEvent:
        plan = _plan(type(event))
        if not plan:
            return event
        aad = _associated_data(event)
        open_text = self._open_text
        now = self.keys.clock()
        changes: dict[str, Any] = {}
        for field, rest, _ in plan:
            value = changes[field] if field in changes else getattr(event, field)
            if value is None:
                continue
            if not rest:
                changes[field] = open_text(value, event, aad, everyone, now)
            elif rest == ("*",):
                changes[field] = {
                    key: open_text(text, event, aad, everyone, now) for key, text in value.items()
                }
            else:
                changes[field] = _transform(
                    value, rest, lambda text: open_text(text, event, aad, everyone, now)
                )
        return msgspec.structs.replace(event, **changes) if changes else event

    def _open_text(
        self,
        text: str,
        event: DomainEvent,
        aad: bytes,
        everyone: Callable[[], set[str]] | None,
        now: float,
    ) -> str:
        if not text.startswith(ENVELOPE_PREFIX):
            return text  # stored without a protector
        try:
            _, subjects, nonce, sealed = text.split(";")
        except ValueError:
            raise SealedTextError(
                lazy(
                    "a personal text of %(event)s is not a valid envelope",
                    event=f"{event.originator_id}@{event.originator_version}",
                )
            ) from None
        if not nonce:
            return ERASED
        cached = self.keys.opening.get(subjects)
        if cached is not None and cached[1] > now:
            cipher = cached[0]
        else:
            cipher = self.keys.opening_cipher(subjects, everyone)
        if cipher is None:
            return ERASED
        try:
            return cipher.decrypt(
                binascii.a2b_base64(nonce), binascii.a2b_base64(sealed), aad
            ).decode()
        except (InvalidTag, binascii.Error, UnicodeDecodeError):
            raise SealedTextError(
                lazy(
                    "a personal text of %(event)s does not open with its key: the stored "
                    "event was changed (run verify)",
                    event=f"{event.originator_id}@{event.originator_version}",
                )
            ) from None
