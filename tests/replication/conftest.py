"""Fixtures for the replication tests: clusters of their own (see ``clusters.py``).

They need PostgreSQL's server programs on this machine; without them the tests are
skipped, with the reason - unless ``PEERLOG_REQUIRE_REPLICATION`` is set (as CI sets
it), when they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.replication.clusters import REQUIRE, Clusters, Node, clusters, unavailable


def clusters_or_skip() -> None:
    problem = unavailable()
    if problem is not None:
        if REQUIRE:
            pytest.fail(f"the replication tests are required here but {problem}")
        pytest.skip(f"{problem} (set PEERLOG_REQUIRE_REPLICATION to fail instead)")


@dataclass
class Replicated:
    """A primary, its synchronous standby s1 and the second standby s2 (from s1)."""

    clusters: Clusters
    primary: Node
    s1: Node
    s2: Node


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    """One set per test module (made in a few seconds, shared by the module's tests)."""
    clusters_or_skip()
    with clusters() as made:
        primary, s1, s2 = made.replicated()
        yield Replicated(made, primary, s1, s2)


@pytest.fixture(scope="module")
def private_clusters() -> Iterator[Clusters]:
    """An empty set, for a test module that makes its own topology."""
    clusters_or_skip()
    with clusters() as made:
        yield made
