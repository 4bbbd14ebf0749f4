"""Waiting for SIGTERM/SIGINT in a process full of threads.

Not ``threading.Event().wait()`` with a handler that sets it: the kernel may hand a process
signal to any thread, and CPython then only flags it for the main thread, which never looks
while it sleeps on a lock. ``faqbot socket`` was seen to ignore a SIGTERM that way, right as a
reconnect started a new reader thread. A wakeup fd is written by whichever thread catches the
signal, so a main thread reading it always wakes.
"""

from __future__ import annotations

import signal
import socket
from types import TracebackType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignal:
    """From ``__enter__`` on, SIGTERM and SIGINT no longer kill; ``wait`` returns on the first.

    Later ones are ignored, so a second Ctrl-C doesn't cut short the in-flight replies.
    """

    def __enter__(self) -> StopSignal:
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(),
                                                 warn_on_full_buffer=False)
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda *_: None)  # the wakeup fd does the work
        return self

    def wait(self) -> None:
        """Block until a stop signal arrives (returns at once if one came already)."""
        self._reader.recv(1)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()
