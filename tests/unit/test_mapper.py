"""Stored events are encoded with msgspec; old stored states are upcast when read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec
import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from peerlog.domain.events import ALL_EVENTS, DomainEvent, StepRecorded
from peerlog.persistence.mapper import EVENT_TOPICS, EventMapper, TopicRegistry

WHEN = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def test_an_event_survives_the_round_trip() -> None:
    mapper = EventMapper()
    event = StepRecorded(
        originator_id="pair/p1",
        originator_version=3,
        command_id="c-9",
        actor="s1",
        occurred_at=WHEN,
        pair_id="p1",
        session_id="d1",
        step_id="st1",
        kind="performance",
        performers=("s1",),
        observers=("s2",),
        goals=("hygiene",),
        note="Hand hygiene",
    )
    stored = mapper.to_stored_event(event)
    assert stored.topic == "StepRecorded"
    assert (stored.originator_id, stored.originator_version) == ("pair/p1", 3)
    assert mapper.to_domain_event(stored) == event


def test_every_event_class_has_a_stable_topic() -> None:
    assert sorted(EVENT_TOPICS.names()) == sorted(cls.__name__ for cls in ALL_EVENTS)


class HandedOver(DomainEvent, frozen=True, kw_only=True):
    """Version 2 of an event: version 1 had a single ``to`` person, version 2 a list."""

    pair_id: str
    to: tuple[str, ...]
    ward: str = "unknown"

    version: ClassVar[int] = 2

    @staticmethod
    def _v1_to_v2(state: dict[str, Any]) -> dict[str, Any]:
        state["to"] = [state.pop("to")]
        return state

    upcasters: ClassVar = {1: _v1_to_v2}


def test_a_state_stored_by_an_older_version_is_upcast_when_read() -> None:
    registry = TopicRegistry([HandedOver])
    mapper = EventMapper(registry=registry)
    v1_state = msgspec.json.encode(
        {
            "originator_id": "pair/p1",
            "originator_version": 7,
            "command_id": "c-1",
            "actor": "sup1",
            "occurred_at": WHEN.isoformat(),
            "pair_id": "p1",
            "to": "s2",
        }
    )
    old = StoredEvent("pair/p1", 7, "HandedOver", v1_state)

    event = mapper.to_domain_event(old)

    assert isinstance(event, HandedOver)
    assert event.to == ("s2",)
    assert event.ward == "unknown"
    # Written now, it is stored at version 2 and read back without upcasting.
    stored = mapper.to_stored_event(event)
    assert stored.topic == "HandedOver@2"
    assert mapper.to_domain_event(stored) == event


def test_an_unknown_topic_or_broken_state_is_a_clear_error() -> None:
    mapper = EventMapper()
    with pytest.raises(MapperDeserialisationError, match="no event class"):
        mapper.to_domain_event(StoredEvent("pair/p1", 1, "Teleported", b"{}"))
    with pytest.raises(MapperDeserialisationError, match="cannot be read"):
        mapper.to_domain_event(StoredEvent("pair/p1", 1, "StepRecorded", b"{}"))
