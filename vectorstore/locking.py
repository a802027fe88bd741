"""A readers-writer lock: many questions read the store at once; a change to it waits for them and goes alone."""

import threading
from contextlib import contextmanager


class ReadWriteLock:
    """Shared holds for readers, an exclusive one for a writer; a waiting writer goes before new readers.

    A thread that already reads may read again (nested reads never wait), and a thread that holds the
    exclusive side may read too. A reader must not ask for the exclusive side.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers: dict[int, int] = {}
        self._writer: int | None = None
        self._writers_waiting = 0

    def reads_here(self) -> bool:
        """Whether the calling thread holds the lock already (either side)."""
        me = threading.get_ident()
        return me in self._readers or self._writer == me

    @contextmanager
    def shared(self):
        """Hold the lock as one of many readers."""
        me = threading.get_ident()
        with self._condition:
            if me not in self._readers and self._writer != me:
                self._condition.wait_for(lambda: self._writer is None and not self._writers_waiting)
            self._readers[me] = self._readers.get(me, 0) + 1
        try:
            yield
        finally:
            with self._condition:
                self._readers[me] -= 1
                if not self._readers[me]:
                    del self._readers[me]
                    self._condition.notify_all()

    @contextmanager
    def exclusive(self):
        """Hold the lock alone: no reader and no other writer at the same time."""
        me = threading.get_ident()
        with self._condition:
            if me in self._readers:
                raise RuntimeError("a reader cannot take the exclusive side of the lock it reads under")
            self._writers_waiting += 1
            try:
                self._condition.wait_for(lambda: self._writer is None and not self._readers)
            finally:
                self._writers_waiting -= 1
            self._writer = me
        try:
            yield
        finally:
            with self._condition:
                self._writer = None
                self._condition.notify_all()
