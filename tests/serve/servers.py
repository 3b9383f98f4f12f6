"""Servers for the tests (no conftest.py here: tests import ``conftest`` from tests/): the real one in a subprocess (the bundled model, ``--port 0``), or an
application with a stand-in annotator served by uvicorn in a thread (no model, starts at once)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from typing import Iterator, Optional

import pytest

from treernn.serve.corenlp import Sentence, Token

START_TIMEOUT = 180  # seconds: torch, spaCy and the model load on a busy CI machine


class ServerProcess:
    def __init__(self, args: list[str]) -> None:
        from treernn.errors import ServerError
        from treernn.serve.launch import start_server

        try:
            self.proc, self.url = start_server(["--port", "0", *args], timeout=START_TIMEOUT)
        except ServerError as exc:
            raise AssertionError(f"the server did not start: {exc}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """The real server with the bundled model and the default settings."""
    s = ServerProcess([])
    yield s
    s.stop()


class StubAnnotator:
    """Stands in for the model: one neutral sentence per text, ``delay`` seconds a batch;
    records each batch's size; a text ``"raise"`` makes the batch fail."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.batches: list[int] = []
        self.finished = 0.0  # when the last batch is (or was) done

    def annotate(self, texts, nodes=None):
        from treernn.errors import ParserError

        self.batches.append(len(texts))
        self.finished = time.monotonic() + self.delay
        time.sleep(self.delay)
        if "raise" in texts:
            raise ParserError("this text is refused")
        out = []
        for t in texts:
            s = Sentence(0, t, [Token(1, t, 0, len(t), "", "")],
                         fields={"sentimentValue": "2", "sentiment": "Neutral"}, sentiment="Neutral")
            if nodes and nodes[len(out)]:
                s.prediction = {"tokens": [t], "sentiment": "Neutral", "nodes": []}
            out.append([s])
        return out


@contextlib.contextmanager
def running(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; its URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def stub_app(delay: float = 0.0, annotator: Optional[StubAnnotator] = None, **settings):
    from treernn.serve.app import ServeConfig, create_app

    annotator = annotator or StubAnnotator(delay)
    return create_app(ServeConfig(**settings), annotator), annotator
