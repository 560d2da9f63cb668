"""CPU-bound Python work spread over processes.

Some steps are pure Python over many independent items: the pictures and XMind maps of a large
investigation (hundreds of files, each tens of milliseconds of layout, drawing and XML), or the phone
strings not parsed yet (a fraction of a millisecond each, hundreds of thousands of them). One process
uses one core while the others wait. ``Workers.map`` runs such work in a pool of processes when
there is enough of it to pay for their start (each imports Python and the libraries it needs: about a
second), and here otherwise.

Workers are *spawned*, never forked: the parent holds DuckDB's threads and an open database, which a
forked child would inherit in whatever state they were. What a worker gets and returns is pickled:
plain rows, frames and paths, never a connection. A worker's exception is raised here, in the parent,
by ``map``. The pool is closed when the ``with`` block ends, also when the step fails.

As with any spawned Python process, a script that calls these functions directly needs the usual
``if __name__ == "__main__":`` guard around its work (``adnet``, Dagster's run workers and pytest
have it), or ``ADNET_WORKERS=1``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Fewer items than this are done here: starting the workers would cost more than they save.
MIN_ITEMS = 40
#: ``ADNET_WORKERS``: how many processes share such work (default: the cores this process may use; 1: none).
WORKERS_ENV = "ADNET_WORKERS"


def default_workers() -> int:
    """``ADNET_WORKERS``, else the cores this process may run on (its CPU affinity: a container or
    ``taskset`` that gives it 2 of 64 cores gets 2 workers)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{WORKERS_ENV}={raw!r} is not a whole number: set it to how many processes share "
                             f"the CPU-bound work (pictures, maps, phone parsing), e.g. {WORKERS_ENV}=2, or unset "
                             "it (every core)") from None
        return max(1, value)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, usable or 1)


class Workers:
    """A pool of spawned processes, started the first time there is enough work for it."""

    def __init__(self, workers: int | None = None, *, min_items: int | None = None):
        self.workers = max(1, workers if workers is not None else default_workers())
        self.min_items = MIN_ITEMS if min_items is None else min_items
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """``fn(item)`` for every item, in order. ``fn`` must be a module-level function (it is pickled)."""
        if self.workers < 2 or len(items) < self.min_items:
            return map(fn, items)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        # a few chunks per worker: few round trips, and an uneven chunk does not leave a core idle for long
        return self._pool.map(fn, items, chunksize=max(1, len(items) // (self.workers * 4)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
