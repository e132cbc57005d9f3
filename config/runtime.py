"""Process tuning shared by the long-running services: the garbage collector.

CPython's cyclic collector runs a young collection every 700 net allocations and promotes what
survives. A service that keeps a batch of thousands of messages alive for ~100 ms therefore
promotes each batch's objects into the oldest generation, which then triggers full collections
that scan the whole heap (tens of milliseconds each, a pause for every message in flight) and
free nothing: those objects die by reference counting moments later. Measured on the ingester
(150k messages): ~1,800 collections, ~15% of its CPU, pauses up to ~130 ms.

:func:`settle_gc`, called once a service has loaded what it keeps for its lifetime, moves
those objects out of the collector's sight (``gc.freeze``) and raises the young threshold so a
batch's short-lived objects are freed by reference counting before a collection sees them.
Cycles are still collected, just less often.
"""

from __future__ import annotations

import gc

#: Net allocations between young collections (CPython's default is 700).
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, middle per full one (defaults 10 and 10).
OLDER_THRESHOLDS = (20, 100)


def settle_gc(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze the survivors (start-up state), and space out later collections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *OLDER_THRESHOLDS)
