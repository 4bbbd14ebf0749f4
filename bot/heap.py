"""Shared by both servers (HTTP and Socket Mode): settle the heap once everything is loaded."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Move everything loaded so far out of the garbage collector's sight.

    The loaded libraries and dataset leave ~50k long-lived objects; a full collection walks
    them all and pauses every thread for ~25 ms, inside whichever replies are in flight.
    """
    gc.collect()
    gc.freeze()
