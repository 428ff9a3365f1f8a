"""_handoff.py — the scan's reader thread and its bounded hand-off, on `_thread` alone.

`queue` and `threading` (with the functools and collections they import) cost
~5 ms of start-up, a twentieth of scanning a 100,000-line file
(docs/performance.md, "Python start-up"); the read-ahead needs one thread,
one producer, one consumer and a few slots, which plain locks give.

Promises: `put` blocks while the hand-off is full and returns False once the
consumer has stopped it (then the reader ends); `get` blocks until an item
comes; items come out in the order they went in; `Reader.join` returns once
the thread's function has returned.
"""
from __future__ import annotations

from _thread import allocate_lock, start_new_thread

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, List


class Handoff:
    """A bounded FIFO between one producer thread and one consumer thread.

    Each side waits on a lock the other side releases: `ready` (an item may be
    there) and `room` (a slot may be free). Only the consumer releases `room`
    and only the producer acquires it (and the other way round for `ready`),
    so "release it if it is locked" never races; a wake-up that finds
    nothing to do loops and waits again."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: List[Any] = []
        self._mu = allocate_lock()
        self._ready = allocate_lock()
        self._ready.acquire()
        self._room = allocate_lock()
        self._room.acquire()
        self._stopped = False

    def put(self, item: Any) -> bool:
        """Adds item, waiting for room; False (item dropped) once stopped."""
        while True:
            with self._mu:
                if self._stopped:
                    return False
                if len(self._items) < self._capacity:
                    self._items.append(item)
                    if self._ready.locked():
                        self._ready.release()
                    return True
            self._room.acquire()

    def get(self) -> Any:
        """The oldest item, waiting for one."""
        while True:
            with self._mu:
                if self._items:
                    item = self._items.pop(0)
                    if self._room.locked():
                        self._room.release()
                    return item
            self._ready.acquire()

    def stop(self) -> None:
        """The consumer is gone: what is queued is dropped and `put` returns False."""
        with self._mu:
            self._stopped = True
            self._items.clear()
            if self._room.locked():
                self._room.release()


class Reader:
    """fn() on a new thread (a daemon thread, as `threading` calls it)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._done = allocate_lock()
        self._done.acquire()
        self._fn = fn
        start_new_thread(self._run, ())

    def _run(self) -> None:
        try:
            self._fn()
        finally:
            self._done.release()

    def join(self) -> None:
        with self._done:
            pass
