"""Stored events encoded with msgspec, with upcasting and a hook for personal texts.

A stored event's topic is a stable name, not a module path: the event class's name,
followed by ``@n`` when the class is at version ``n`` > 1. Renaming a module never
orphans stored events, and the topic column shows which schema a stored state has.

Reading a stored state written at an older version decodes it to plain data, runs
the class's upcasters one version at a time, and converts the result to the current
class. States at the current version are decoded straight into the class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

import msgspec
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)

from peerlog.domain.events import ALL_EVENTS, DomainEvent


class TextProtector(Protocol):
    """Seals personal texts before they are stored and opens them when read."""

    def seal(self, event: DomainEvent) -> DomainEvent: ...

    def seal_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]: ...

    def open(self, event: DomainEvent) -> DomainEvent: ...

    def open_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]: ...


class _UnusedTranscoder(Transcoder):
    """The library's mapper wants a transcoder; msgspec does the encoding here."""

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError


class TopicRegistry:
    """Stable topic names for event classes, and their decoders."""

    def __init__(self, classes: Iterable[type[DomainEvent]]) -> None:
        self._by_name: dict[str, type[DomainEvent]] = {}
        self._topics: dict[type[DomainEvent], str] = {}
        self.current: dict[str, msgspec.json.Decoder[Any]] = {}
        """The decoder for each topic naming a class at its current version."""
        for cls in classes:
            self.register(cls)

    def register(self, cls: type[DomainEvent], name: str | None = None) -> None:
        name = name or cls.__name__
        if name in self._by_name and self._by_name[name] is not cls:
            msg = f"two event classes are named {name}"
            raise ValueError(msg)
        self._by_name[name] = cls
        self._topics[cls] = name if cls.version == 1 else f"{name}@{cls.version}"
        self.current[self._topics[cls]] = msgspec.json.Decoder(cls)

    def topic(self, cls: type[DomainEvent]) -> str:
        return self._topics[cls]

    def resolve(self, topic: str) -> tuple[type[DomainEvent], int]:
        name, _, version = topic.partition("@")
        try:
            cls = self._by_name[name]
        except KeyError:
            msg = f"no event class is registered for topic {topic!r}"
            raise MapperDeserialisationError(msg) from None
        return cls, int(version) if version else 1

    def names(self) -> list[str]:
        return list(self._by_name)


EVENT_TOPICS: Final = TopicRegistry(ALL_EVENTS)


def upcast(cls: type[DomainEvent], data: dict[str, Any], from_version: int) -> dict[str, Any]:
    """Bring a stored state from ``from_version`` up to the class's current version."""
    for version in range(from_version, cls.version):
        try:
            step = cls.upcasters[version]
        except KeyError:
            msg = f"{cls.__name__} has no upcaster from version {version}"
            raise MapperDeserialisationError(msg) from None
        data = step(data)
    return data


def _plain_text(value: Any) -> Any:
    """msgspec encodes ``str`` itself, not its subclasses (an erased text is one)."""
    if isinstance(value, str):
        return str(value)
    msg = f"cannot encode a {type(value).__name__}"
    raise NotImplementedError(msg)


class EventMapper(Mapper[str]):
    """Converts domain events to stored events and back, with msgspec."""

    def __init__(
        self,
        registry: TopicRegistry = EVENT_TOPICS,
        protector: TextProtector | None = None,
    ) -> None:
        super().__init__(transcoder=_UnusedTranscoder())
        self.registry = registry
        self.protector = protector
        self._encoder = msgspec.json.Encoder(enc_hook=_plain_text)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        event: DomainEvent = domain_event
        if self.protector is not None and type(event).personal_text:
            event = self.protector.seal(event)
        return self._stored(event)

    def to_stored_events(self, events: Sequence[DomainEvent]) -> list[StoredEvent]:
        """Many events as stored: the keys their personal texts are sealed under are
        made and read together (:meth:`TextProtector.seal_many`)."""
        if self.protector is not None and any(type(e).personal_text for e in events):
            events = self.protector.seal_many(events)
        return [self._stored(event) for event in events]

    def _stored(self, event: DomainEvent) -> StoredEvent:
        """A stored event of an event whose texts were sealed (if it is to be)."""
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=self.registry.topic(type(event)),
            state=self._encoder.encode(event),
        )

    def decode(self, topic: str, state: bytes) -> DomainEvent:
        """The event as stored, personal texts still sealed."""
        current = self.registry.current.get(topic)
        try:
            if current is not None:  # stored at its class's version: nothing to upcast
                event: DomainEvent = current.decode(state)
            else:
                cls, stored_version = self.registry.resolve(topic)
                data = msgspec.json.decode(state)
                event = msgspec.convert(upcast(cls, data, stored_version), cls)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            msg = f"stored state of a {topic} event cannot be read: {exc}"
            raise MapperDeserialisationError(msg) from exc
        return event

    def open(self, event: DomainEvent) -> DomainEvent:
        """The event with its personal texts readable (or marked erased)."""
        if self.protector is not None and type(event).personal_text:
            return self.protector.open(event)
        return event

    def open_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]:
        """Many events with their personal texts readable, their keys read at once."""
        if self.protector is not None:
            return self.protector.open_many(events)
        return list(events)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.open(self.decode(stored_event.topic, stored_event.state))
