"""workers: work spread over spawned processes gives what it gives here, in order; errors come back."""

from __future__ import annotations

import pytest

from adnet_assets.lib import workers
from adnet_assets.lib.workers import Workers


def square(x: int) -> int:
    return x * x


def refuse_seven(x: int) -> int:
    if x == 7:
        raise ValueError("seven is refused")
    return x


def test_results_in_order_from_the_pool_and_here():
    items = list(range(50))
    with Workers(2, min_items=10) as pool:
        assert list(pool.map(square, items)) == [x * x for x in items]
        assert pool._pool is not None  # the work went to the processes
    assert pool._pool is None          # and they were stopped
    with Workers(2, min_items=100) as pool:
        assert list(pool.map(square, items)) == [x * x for x in items]
        assert pool._pool is None      # too little work: done here


def test_a_worker_error_is_raised_here_and_the_pool_stops():
    with pytest.raises(ValueError, match="seven is refused"):
        with Workers(2, min_items=1) as pool:
            list(pool.map(refuse_seven, list(range(20))))
    assert pool._pool is None


def test_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv(workers.WORKERS_ENV, "1")
    assert Workers().workers == 1
    monkeypatch.setenv(workers.WORKERS_ENV, "three")
    with pytest.raises(ValueError, match="ADNET_WORKERS='three' is not a whole number"):
        Workers()
    monkeypatch.delenv(workers.WORKERS_ENV)
    assert Workers().workers >= 1
