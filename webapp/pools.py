"""Where calls run: :class:`LowPriorityPool` (threads of lower CPU priority, so that interactive work
gets the CPU first) and :class:`PerClient` (at most N calls in flight per client)."""
from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

V = TypeVar("V")


class LowPriorityPool:
    """Runs calls on ``workers`` threads of lower CPU priority (Linux: ``nice`` more than the
    caller's; elsewhere normal priority), in arrival order, each in a copy of its caller's context
    (so context variables, such as a web framework's request, still hold). Work at normal priority
    gets the CPU first."""

    def __init__(self, workers: int, nice: int = 10, name: str = "low-priority") -> None:
        self.workers = max(1, int(workers))
        self.nice = nice
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=name, initializer=self._lower)

    def _lower(self) -> None:
        if sys.platform.startswith("linux"):  # there, PRIO_PROCESS with a thread id sets that thread's priority
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice))

    def run(self, fn: Callable[..., V], *args: object) -> V:
        """``fn(*args)`` on a pool thread, waiting for a free one; its result or its exception."""
        return self._pool.submit(contextvars.copy_context().run, fn, *args).result()


class TooMany(Exception):
    """A client already has as many calls in flight as it may."""


class PerClient:
    """At most ``limit`` calls in flight per client key; :meth:`hold` raises :class:`TooMany` past it."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        with self._lock:
            n = self._held.get(client, 0)
            if n >= self.limit:
                raise TooMany(client)
            self._held[client] = n + 1
        try:
            yield
        finally:
            with self._lock:
                if self._held[client] <= 1:
                    del self._held[client]
                else:
                    self._held[client] -= 1
