"""`lazy`: a cached property whose first build runs once, however many threads ask at the same time.

`functools.cached_property` lost its lock in Python 3.12, so two threads could each build a component
(two knowledge bases with two write locks, two models in memory). Here each instance and attribute has
its own re-entrant lock, taken only while the value is missing; once built, reading it is a plain
attribute lookup. Building one component may read another (the knowledge base reads the store): locks are
per attribute, and components depend on each other without cycles, so this cannot deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
_GUARD = threading.Lock()  # creates the per-instance locks


class lazy(Generic[T]):  # noqa: N801 - used like functools.cached_property
    def __init__(self, build: Callable[[Any], T]):
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> lazy[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        if self.name in values:  # normally never reached: the instance attribute shadows this descriptor
            return values[self.name]
        with _lock(obj, self.name):
            if self.name not in values:
                values[self.name] = self.build(obj)
            return values[self.name]


def _lock(obj: Any, name: str) -> threading.RLock:
    with _GUARD:
        locks = obj.__dict__.setdefault("_lazy_locks", {})
        return locks.setdefault(name, threading.RLock())
