"""Batching across requests: the texts of concurrent requests go through the parser and the
model together, in one thread beside the event loop.

A request's texts wait in a queue. When the model is free, it takes every request waiting (up
to ``max_batch`` texts) and parses and labels them all at once; while it works, the next
requests queue up and make the next batch, so under load the batches grow by themselves and
the model never waits. Only a request that finds nobody else waiting waits, up to
``max_wait`` seconds, for others to join it (a burst after a quiet spell). The event loop never
runs the model: it only reads requests and writes answers.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from treernn.errors import RequestError, ServerError


@dataclass
class _Job:
    texts: Sequence[str]
    future: asyncio.Future


@dataclass
class BatchStats:
    """Counts since the server started (``GET /v1/stats``)."""

    batches: int = 0
    texts: int = 0
    requests: int = 0
    largest: int = 0
    busy_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"batches": self.batches, "texts": self.texts, "requests": self.requests,
                "largest_batch": self.largest, "mean_batch": round(self.texts / self.batches, 2) if self.batches else 0.0,
                "model_busy_seconds": round(self.busy_seconds, 3)}


class Batcher:
    """Runs ``work(texts) -> results`` (one result per text) over the texts of many requests.

    Args:
        work: the function the model thread runs (:meth:`Annotator.annotate`).
        max_batch: the most texts gathered into one batch (a request with more goes alone).
        max_wait: seconds the first request of a batch waits for others (0: none).
        max_queue: the most texts waiting; a request past it is refused (503).
        concurrency: batches in the models at once (one per model process); ``work`` must
            then be safe to call from that many threads.
    """

    def __init__(self, work: Callable[[list[str]], list[Any]], max_batch: int = 256,
                 max_wait: float = 0.005, max_queue: int = 8192, concurrency: int = 1) -> None:
        if max_batch < 1:
            raise ServerError(f"--max-batch must be >= 1, got {max_batch}")
        if max_wait < 0:
            raise ServerError(f"--max-wait-ms must be >= 0, got {max_wait * 1000:g}")
        self.work, self.max_batch, self.max_wait, self.max_queue = work, max_batch, max_wait, max_queue
        self.stats = BatchStats()
        self._queue: Optional[asyncio.Queue] = None
        self._task: Optional[asyncio.Task] = None
        self.concurrency = concurrency
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="treernn-model")
        self._waiting = 0

    def start(self) -> None:
        """Start the batching task (in the running event loop)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="treernn-batcher")

    async def close(self) -> None:
        """Stop taking batches; the batch in the model thread finishes first."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    async def submit(self, texts: Sequence[str]) -> list[Any]:
        """The results for ``texts``, once their batch went through the model.

        Raises:
            RequestError: the queue is full (status 503).
            Exception: whatever ``work`` raised for the batch.
        """
        assert self._queue is not None, "Batcher.start() first"
        if self._waiting + len(texts) > self.max_queue and self._waiting:
            raise RequestError(f"server busy: {self._waiting} texts are waiting (the queue takes {self.max_queue}); "
                               f"try again", status=503)
        future = asyncio.get_running_loop().create_future()
        self._waiting += len(texts)
        self._queue.put_nowait(_Job(texts, future))
        return await future

    async def _next_batch(self) -> list[_Job]:
        """The next batch: every request already waiting (they queued while the model worked),
        at once; a request that found nothing else waiting waits up to ``max_wait`` for
        others to join it."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        jobs = [await self._queue.get()]
        count = len(jobs[0].texts)
        while count < self.max_batch and not self._queue.empty():
            jobs.append(self._queue.get_nowait())
            count += len(jobs[-1].texts)
        if len(jobs) > 1:
            return jobs
        deadline = loop.time() + self.max_wait
        while count < self.max_batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                job = await asyncio.wait_for(self._queue.get(), remaining)
            except asyncio.TimeoutError:
                break
            jobs.append(job)
            count += len(job.texts)
        return jobs

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task] = set()
        try:
            while True:
                await slots.acquire()  # a model free
                jobs = await self._next_batch()
                task = asyncio.get_running_loop().create_task(self._batch(jobs))
                running.add(task)
                task.add_done_callback(lambda t: (running.discard(t), slots.release()))
        finally:
            if running:  # the batches in the models finish (their requests are in flight)
                await asyncio.gather(*running, return_exceptions=True)

    async def _batch(self, jobs: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        self._waiting -= sum(len(j.texts) for j in jobs)
        live = [j for j in jobs if not j.future.done()]  # a request that timed out is dropped
        if not live:
            return
        texts = [t for j in live for t in j.texts]
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self.work, texts)
        except Exception as exc:
            # the batch failed: each request again alone, so that only the one at fault fails
            for j in live:
                try:
                    alone = exc if len(live) == 1 else await loop.run_in_executor(self._executor, self.work, list(j.texts))
                except Exception as own:
                    alone = own
                if j.future.done():
                    continue
                if isinstance(alone, Exception):
                    j.future.set_exception(alone)
                else:
                    j.future.set_result(alone)
            return
        finally:
            self.stats.batches += 1
            self.stats.texts += len(texts)
            self.stats.requests += len(live)
            self.stats.largest = max(self.stats.largest, len(texts))
            self.stats.busy_seconds += time.perf_counter() - started
        start = 0
        for j in live:
            if not j.future.done():
                j.future.set_result(results[start:start + len(j.texts)])
            start += len(j.texts)
