"""Where a command's decider says which command it decides.

Each aggregate module keeps one :class:`Deciders`; its decide functions are registered
with it as a decorator (``@DECIDERS(RecordStep)``), next to the rules they apply, and
:mod:`peerlog.handlers` builds its table from them. Adding a command therefore adds no
line to the handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, cast

D = TypeVar("D", bound=Callable[..., Any])
F = TypeVar("F", bound=Callable[..., Any])


class Deciders(Generic[D]):
    """The deciders of one aggregate, by the command model each decides."""

    def __init__(self) -> None:
        self._by_command: dict[type[Any], D] = {}

    def __call__(self, command: type[Any]) -> Callable[[F], F]:
        """Register the decorated function as the decider of ``command`` (it is
        returned as it is)."""

        def register(decide: F) -> F:
            if command in self._by_command:
                msg = f"{command.__name__} already has a decider"
                raise ValueError(msg)
            self._by_command[command] = cast("D", decide)
            return decide

        return register

    def items(self) -> Iterator[tuple[type[Any], D]]:
        return iter(self._by_command.items())
