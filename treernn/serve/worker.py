"""The model processes: spaCy and the model run there, the HTTP side in the server's process,
which then never imports torch (28 MB against 222 MB).

Why processes: several of them run batches at once (:class:`ModelPool`), which threads of one
Python process cannot do with parsing and the tree model being mostly Python. One model gives
the same throughput in a process or in a thread (``--model-worker thread``; docs/server.md's
section has the measurements).

Each process runs :mod:`treernn.serve.model_process` and talks to the server over a socket pair
with :class:`multiprocessing.connection.Connection`: ``(text, format)`` items one way, the
rendered bodies (or, for ``/v1/classify``, :class:`~treernn.serve.corenlp.Sentence` records) the
other.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Sequence

from treernn.errors import RequestError, ServerError, TreernnError
from treernn.serve.config import ServeConfig

START_TIMEOUT = 600  # seconds for a model process to load (torch, spaCy, the model; a cold disk)


class ModelProcess:
    """An annotator in a child process: ``respond(items)`` as
    :func:`treernn.serve.annotate.respond` (the bodies rendered there too).

    Raises (from the constructor, or :meth:`wait_ready` with ``wait=False``):
        ServerError: the process could not load the model (the message says why).
    """

    def __init__(self, config: ServeConfig, wait: bool = True) -> None:
        self._settings = dataclasses.asdict(config)
        self._lock = threading.Lock()
        self._launch()
        if wait:
            self.wait_ready()

    def _launch(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # the server's imports
        self.process = subprocess.Popen([sys.executable, "-m", "treernn.serve.model_process", str(theirs.fileno())],
                                        pass_fds=(theirs.fileno(),), env=env)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send(self._settings)

    def wait_ready(self) -> None:
        if not self._conn.poll(START_TIMEOUT):
            self.process.kill()
            raise ServerError(f"the model process did not start within {START_TIMEOUT} s")
        try:
            kind, payload = self._conn.recv()
        except (EOFError, OSError):
            raise ServerError(f"the model process exited while loading (exit code {self.process.wait(10)})") from None
        if kind != "ready":
            self.process.wait(10)
            raise ServerError(payload)

    @property
    def pid(self) -> int:
        return self.process.pid

    def respond(self, items: Sequence[tuple[str, str]]) -> list:
        with self._lock:
            try:
                self._conn.send(("respond", list(items)))
                kind, payload = self._conn.recv()
            except (EOFError, OSError):
                try:
                    code = self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    code = self.process.wait(5)
                self._conn.close()
                self._launch()
                self.wait_ready()
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
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self._conn.close()


class ModelPool:
    """Several :class:`ModelProcess` es behind one ``respond(items)``: each call takes a free
    one (the batcher runs as many batches at once as there are processes). They load at once."""

    def __init__(self, config: ServeConfig, processes: int) -> None:
        self.members: list[ModelProcess] = []
        try:
            for _ in range(processes):
                self.members.append(ModelProcess(config, wait=False))
            for m in self.members:
                m.wait_ready()
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
            if m.process.poll() is None:
                m.close()
