"""Gathering the requests that wait at one moment into one batch for a model that runs one batch at a time.

Callers ``submit`` work items from their own threads. While the model is busy, new items wait in line;
when it is free, the caller that finds it free takes the items waiting (first come first served, at
most ``max_batch``, only those whose ``key`` matches the first's) and runs them as one batch for all
of them, then hands each its own result. No item waits for a batch to fill: a lone request runs at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, Sequence, TypeVar

T = TypeVar("T")


@dataclass
class Item(Generic[T]):
    """One request in line: ``payload`` in, then ``result`` or ``error`` out."""

    payload: T
    key: Hashable = None
    result: Any = None
    error: BaseException | None = None
    done: bool = field(default=False, repr=False)


class BatchQueue(Generic[T]):
    """See the module docstring. ``run_batch(items)`` must set ``result`` or ``error`` on every item."""

    def __init__(self, max_batch: int, run_batch: Callable[[Sequence[Item[T]]], None]) -> None:
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch!r}")
        self.max_batch = int(max_batch)
        self._run_batch = run_batch
        self._cond = threading.Condition()
        self._waiting: list[Item[T]] = []
        self._running = False
        self.batches_run = 0
        self.largest_batch = 0

    def submit(self, payload: T, key: Hashable = None) -> Any:
        """Run ``payload`` (in a batch with others waiting now and sharing its ``key``); its result, or
        its error raised here."""
        return self.submit_many([(payload, key)])[0]

    def submit_many(self, payloads: Sequence[tuple[T, Hashable]]) -> list[Any]:
        """Put several ``(payload, key)`` in line at once (so they can share batches) and wait for all;
        their results in order, or the first error raised here."""
        items = [Item(payload, key) for payload, key in payloads]
        with self._cond:
            self._waiting.extend(items)
            while not all(it.done for it in items):
                if self._running:
                    self._cond.wait()
                    continue
                self._running = True
                batch = self._take()
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._running = False
                    self._cond.notify_all()
        for it in items:
            if it.error is not None:
                raise it.error
        return [it.result for it in items]

    def _take(self) -> list[Item[T]]:
        first = self._waiting[0]
        batch = [it for it in self._waiting if it.key == first.key][: self.max_batch]
        taken = {id(it) for it in batch}
        self._waiting = [it for it in self._waiting if id(it) not in taken]
        return batch

    def _run(self, batch: list[Item[T]]) -> None:
        try:
            self._run_batch(batch)
        except BaseException as exc:  # whatever it was, every waiting caller must hear of it
            for it in batch:
                if it.result is None and it.error is None:
                    it.error = exc
        finally:
            for it in batch:
                if it.result is None and it.error is None:
                    it.error = RuntimeError("the batch ended without an answer for this request")
                it.done = True
            self.batches_run += 1
            self.largest_batch = max(self.largest_batch, len(batch))
