"""Tiles in flight: apply a work function to lazily read items with at most ``concurrency`` running at once."""

from __future__ import annotations

import concurrent.futures as cf
from typing import Callable, Iterable, Iterator, TypeVar

from .events import CancelToken

T = TypeVar("T")
R = TypeVar("R")


def pipelined(items: Iterable[T], work: Callable[[T], R], concurrency: int, cancel: CancelToken) -> Iterator[R]:
    """Apply ``work`` to ``items`` with at most ``concurrency`` in flight; yield results as they finish.

    Items are pulled lazily from the calling thread (datasets are not thread-safe), one ahead, so a freed slot
    gets work without waiting for a read. On cancel, raises ``Cancelled`` once the work that has finished is
    yielded: work in flight is abandoned (its results are not used). An exception raised by ``work``
    propagates from the generator, after the other work that finished with it is yielded.
    """
    iterator = iter(items)
    pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tile")
    in_flight: set[cf.Future] = set()
    ahead: list = []  # at most one item read in advance
    exhausted = False

    def pull() -> bool:
        nonlocal exhausted
        if not exhausted:
            try:
                ahead.append(next(iterator))
            except StopIteration:
                exhausted = True
        return bool(ahead)

    try:
        while True:
            while len(in_flight) < concurrency:
                cancel.raise_if_cancelled()
                if not (ahead or pull()):
                    break
                in_flight.add(pool.submit(work, ahead.pop()))
            if not in_flight:
                return
            if not ahead:
                cancel.raise_if_cancelled()
                pull()  # read the next tile while the engine works on those in flight
            done, in_flight = cf.wait(in_flight, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            # Finished work is handed over before a failure or a cancel is raised: a finished tile is never
            # dropped because another one failed beside it.
            failed = [f for f in done if f.exception() is not None]
            for future in done:
                if future not in failed:
                    yield future.result()
            if failed:
                failed[0].result()
            cancel.raise_if_cancelled()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
