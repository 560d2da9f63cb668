"""Per-network export work spread over processes.

The pictures and XMind maps of a large investigation are hundreds of independent files, each tens of
milliseconds of pure Python (layout, drawing, XML): one process uses one core, so the others wait.
``ExportWorkers.map`` runs such work in a pool of processes when there is enough of it to pay for
their start (each imports Python, PIL or the XMind writer: about a second), and here otherwise.

Workers are *spawned*, never forked: the parent holds DuckDB's threads and an open database, which a
forked child would inherit in whatever state they were. What a worker gets and returns is pickled:
plain rows and paths, never a connection. A worker's exception is raised here, in the parent, by
``map``. The pool is closed when the ``with`` block ends, also when the step fails.

As with any spawned Python process, a script that calls the exports directly needs the usual
``if __name__ == "__main__":`` guard around its work (``adnet``, Dagster's run workers and pytest
have it), or ``ADNET_EXPORT_WORKERS=1``.
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
#: ``ADNET_EXPORT_WORKERS``: how many processes draw and write (default: the machine's cores; 1: none).
WORKERS_ENV = "ADNET_EXPORT_WORKERS"


def default_workers() -> int:
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{WORKERS_ENV}={raw!r} is not a whole number: set it to how many processes draw "
                             f"the network pictures and maps, e.g. {WORKERS_ENV}=2, or unset it (all cores)") from None
        return max(1, value)
    return max(1, os.cpu_count() or 1)


class ExportWorkers:
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

    def __enter__(self) -> ExportWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
