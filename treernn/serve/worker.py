"""The model's own process: spaCy and the model run there, the HTTP side in the server's.

Why processes: several of them run batches at once (:class:`ModelPool`), which threads of one
Python process cannot do with parsing and the tree model being mostly Python. One model gives
the same throughput in a process or in a thread (``--model-worker thread``; the README's server
section has the measurements), the thread with less memory.

The two sides talk over a ``multiprocessing`` pipe: ``(text, format)`` items one way, the
rendered bodies (or, for ``/v1/classify``, :class:`~treernn.serve.corenlp.Sentence` records)
the other. The model process ignores SIGINT
and SIGTERM: the server tells it when to stop, after the requests in flight are answered, and
it stops by itself when the server goes (the pipe closes).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import signal
import sys
import threading
import traceback
from typing import Any, Sequence

import torch

from treernn import pipeline
from treernn.errors import RequestError, ServerError, TreernnError
from treernn.parsing import SpacyParser
from treernn.serve.annotate import Annotator, respond
from treernn.serve.config import ServeConfig

START_TIMEOUT = 600  # seconds for the model process to load (torch, spaCy, the model; a cold disk)


def load_annotator(config: ServeConfig) -> Annotator:
    """The model, its vocabulary and spaCy, ready to annotate, from a
    :class:`~treernn.serve.config.ServeConfig` (CheckpointError, ParserError for a bad model
    directory or spaCy pipeline)."""
    torch.set_num_threads(config.threads)  # once for the process: switching per batch costs more than a batch
    parser = SpacyParser(model=config.spacy_pipeline) if config.spacy_pipeline else None
    predictor = pipeline.load(config.model, device=config.device, parser=parser, batch_size=config.max_batch,
                              max_tokens=None, max_chars=None, threads=config.threads)
    predictor.parser  # load spaCy now, not on the first request
    annotator = Annotator(predictor, config.max_tokens or None)
    annotator.annotate(["Ready."])  # warm up spaCy and the model
    return annotator


class ModelProcess:
    """An :class:`Annotator` in a child process: ``respond(items)`` as
    :func:`treernn.serve.annotate.respond` (the bodies rendered there too).

    Raises (from the constructor):
        ServerError: the process could not load the model (the message says why).
    """

    def __init__(self, config: ServeConfig) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork: CUDA and threads do not survive one
        self._settings = dataclasses.asdict(config)
        self._ctx = ctx
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        self._conn, child = self._ctx.Pipe()
        self.process = self._ctx.Process(target=_main, args=(self._settings, child), name="treernn-model", daemon=True)
        self.process.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT):
            self.process.kill()
            raise ServerError(f"the model process did not start within {START_TIMEOUT} s")
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            raise ServerError(f"the model process exited while loading (exit code {self.process.exitcode})") from None
        if kind != "ready":
            self.process.join(10)
            raise ServerError(payload)

    def respond(self, items: Sequence[tuple[str, str]]) -> list:
        with self._lock:
            try:
                self._conn.send(("respond", list(items)))
                kind, payload = self._conn.recv()
            except (EOFError, OSError):
                self.process.join(5)
                code = self.process.exitcode
                self._start()
                raise RequestError(f"the model process stopped (exit code {code}) on this batch and was restarted; "
                                   f"try again", 503) from None
        if kind == "ok":
            return payload
        if kind == "input":
            raise TreernnError(payload)
        raise RuntimeError(payload)

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.send(("stop", None))
            except (OSError, ValueError):
                pass
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()
            self._conn.close()


class ModelPool:
    """Several :class:`ModelProcess` es behind one ``respond(items)``: each call takes a free
    one (the batcher runs as many batches at once as there are processes)."""

    def __init__(self, config: ServeConfig, processes: int) -> None:
        self.members: list[ModelProcess] = []
        try:
            for _ in range(processes):
                self.members.append(ModelProcess(config))
        except BaseException:
            self.close()
            raise
        self._free: "queue.SimpleQueue[ModelProcess]" = queue.SimpleQueue()
        for m in self.members:
            self._free.put(m)

    def respond(self, items: Sequence[tuple[str, str]]) -> list:
        member = self._free.get()
        try:
            return member.respond(items)
        finally:
            self._free.put(member)

    def close(self) -> None:
        for m in self.members:
            m.close()


def _main(settings: dict, conn: Any) -> None:
    """The model process: load, say ready, then annotate what comes until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server decides
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        annotator = load_annotator(ServeConfig(**settings))
    except TreernnError as exc:
        conn.send(("error", str(exc)))
        return
    except Exception as exc:  # pragma: no cover - a bug; the server shows the line
        conn.send(("error", f"the model could not be loaded: {type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            kind, items = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if kind == "stop":
            return
        try:
            conn.send(("ok", respond(annotator, items)))
        except TreernnError as exc:
            conn.send(("input", str(exc)))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            conn.send(("failure", f"{type(exc).__name__}: {exc}"))
