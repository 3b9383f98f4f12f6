"""``treernn serve``: the HTTP application (Starlette) and how it runs (uvicorn).

Routes:

- ``POST /``: CoreNLP's server protocol (see :mod:`treernn.serve.corenlp`): the text as the
  body, ``properties`` in the URL; CoreNLP's JSON document or its plain-text form.
- ``GET /``: a short page (200), as CoreNLP's server answers with its page; pycorenlp asks it
  before every request.
- ``GET /live``, ``GET /ready``, ``GET /ping``: CoreNLP's health checks (``live``, ``ready``,
  ``pong``).
- ``POST /v1/classify``: ``{"texts": [...]}`` in, treernn's own per-node output out
  (``{"sentences": [...], "errors": [...]}``, each sentence as a line of ``treernn classify
  --format json``); with ``"document": true`` also ``"documents"``: one score per text, as
  ``treernn classify --document`` gives it (:func:`document_scores`).
- ``POST /v1/relate`` (a pair model: ``treernn serve --model PAIR_DIR``): ``{"pairs": [[a, b],
  ...]}`` in, ``{"pairs": [...], "errors": [...]}`` out, each pair as ``treernn relate`` writes it.
- ``GET /v1/stats``: batches, texts and requests so far, the server's settings.

Every error body is JSON with a one-line ``error``: 400 for bad input (malformed
``properties``, a format not spoken, bytes not valid UTF-8, bad JSON), 404/405 for other
paths and methods, 408 for a body that stops arriving, 413 for a body over ``--max-chars``,
503 when a request waited over ``--timeout`` seconds, the queue is full, ``--max-concurrency``
requests are in hand or a model process died on the batch (it is started again). A sentence
over ``--max-tokens`` is an entry with ``error`` in the document; the other sentences are
labeled.

Why Starlette and uvicorn: the issue asks for a real ASGI stack; Starlette is the small
toolkit under FastAPI (routing, requests, responses, lifespan) without the pydantic layer
this protocol has no use for (its bodies are text and loose property maps, not JSON models);
uvicorn is the ASGI server both document, with graceful shutdown and multi-process workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import time
from typing import Any, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from treernn.errors import RequestError, ServerError, TreernnError
from treernn.serve.batching import Batcher
from treernn.storage import read_json
from treernn.serve.config import ServeConfig
from treernn.serve.corenlp import decode_body, document_json, document_text, read_properties
from treernn.serve.worker import ModelPool, ModelProcess

log = logging.getLogger("treernn.serve")
_CONFIG_ENV = "TREERNN_SERVE_CONFIG"  # the settings, as JSON, for worker processes


def _say(line: str) -> None:
    """Writes one of the server's own lines (ready, starting) to stdout in one write. The
    workers of ``--workers N`` share the stream, and ``print`` writes a line's text and its
    newline apart (two system calls when Python's output is unbuffered, PYTHONUNBUFFERED=1),
    so two workers' ready lines could run into one, and a supervisor counting them wait forever."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------- errors
def _error(status: int, message: str, headers: Optional[dict] = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.status_code != 404 else f"no such path: {request.url.path}"
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return _error(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, f"internal error: {type(exc).__name__} (a bug in treernn; the server log has the traceback)")


# ---------------------------------------------------------------------------------- app
class _Service:
    """What the routes share: the settings, the annotator and the batcher."""

    def __init__(self, config: ServeConfig, annotator: Any) -> None:
        self.config = config
        self.annotator = annotator
        self.batcher: Optional[Batcher] = None
        self.ready = False
        self.started = time.time()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.annotator is None:  # a worker process of several: its own model
            self.annotator = await loop.run_in_executor(None, make_annotator, self.config)
        else:
            await loop.run_in_executor(None, _warm_up, self.annotator, self.config)
        if isinstance(self.annotator, (ModelProcess, ModelPool)):
            work = self.annotator.respond
        else:  # a model in this process (--model-worker thread, or a stand-in in the tests)
            from treernn.serve.annotate import respond  # torch and spaCy: only in this case

            annotator = self.annotator

            def work(items: list) -> list:
                return respond(annotator, items)

        self.batcher = Batcher(work, self.config.max_batch, self.config.max_wait_ms / 1000, self.config.max_queue,
                               concurrency=len(self.annotator.members) if isinstance(self.annotator, ModelPool) else 1)
        self.batcher.start()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self.batcher is not None:
            await self.batcher.close()
        close = getattr(self.annotator, "close", None)
        if close is not None:
            await asyncio.get_running_loop().run_in_executor(None, close)

    async def read_text(self, request: Request) -> str:
        """The body, decoded; 413 past ``max_chars`` (read no further than 4 bytes a character)."""
        limit = self.config.max_chars
        max_bytes = 4 * limit if limit else None
        length = request.headers.get("content-length")
        if max_bytes is not None and length and length.isdigit() and int(length) > max_bytes:
            raise RequestError(f"body of {int(length)} bytes, over the limit of {limit} characters (--max-chars)", 413)
        chunks: list[bytes] = []

        async def read() -> None:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise RequestError(f"body over the limit of {limit} characters (--max-chars)", 413)
                chunks.append(chunk)

        try:  # a client that stops sending mid-body does not hold the request forever
            await asyncio.wait_for(read(), self.config.timeout)
        except asyncio.TimeoutError:
            raise RequestError(f"the body did not arrive within {self.config.timeout:g} s (--timeout)", 408) from None
        try:
            text = decode_body(b"".join(chunks), request.headers.get("content-type"))
        except ServerError as exc:
            raise RequestError(str(exc), 400) from None
        if limit and len(text) > limit:
            raise RequestError(f"body of {len(text)} characters, over the limit of {limit} (--max-chars)", 413)
        return text

    async def respond(self, texts: list[str], fmt: str) -> list:
        """Each text's answer in ``fmt`` (see :func:`treernn.serve.annotate.respond`)."""
        assert self.batcher is not None
        try:
            return await asyncio.wait_for(self.batcher.submit([(t, fmt) for t in texts]), self.config.timeout)
        except asyncio.TimeoutError:
            raise RequestError(f"the request took over {self.config.timeout:g} s (--timeout): the server is "
                               f"overloaded or the text too long", 503) from None


def make_annotator(config: ServeConfig) -> Any:
    """What runs the model: a :class:`ModelProcess` (default), a :class:`ModelPool` of
    ``model_processes``, or an annotator in this process (``model_worker="thread"``)."""
    if config.model_worker == "thread":
        # the one place the HTTP process imports torch and spaCy: only when it runs the model itself
        from treernn.serve.model_process import load_annotator

        return load_annotator(config)
    if config.processes > 1:
        return ModelPool(config, config.processes)
    return ModelProcess(config)


def _warm_up(annotator: Any, config: ServeConfig) -> None:
    pair = getattr(annotator, "kind", None) == "pair" or is_pair_model(config.model)
    if isinstance(annotator, (ModelProcess, ModelPool)):
        annotator.respond([(("Ready.", "Ready."), "relate") if pair else ("Ready.", "json")])
    elif pair:
        annotator.relate([("Ready.", "Ready.")])
    else:
        annotator.annotate(["Ready."])


def is_pair_model(directory: Optional[str]) -> bool:
    """Whether the model directory holds a pair model (its ``config.json`` says a ``task``);
    read without torch."""
    if directory is None:
        return False
    try:
        data = read_json(os.path.join(directory, "config.json"))
    except TreernnError:
        return False  # the model process will say what is wrong with it
    return isinstance(data, dict) and isinstance(data.get("model"), dict) and data["model"].get("task") is not None


def _refusals(handler):
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as exc:
            return _error(exc.status, str(exc))
        except TreernnError as exc:  # the input's fault (ServerError, ParserError, ...), never a 500
            return _error(400, str(exc))
    wrapped.__name__ = handler.__name__
    return wrapped


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>treernn sentiment server</title></head>
<body><h1>treernn sentiment server</h1>
<p>A CoreNLP-compatible sentiment server: <code>POST /?properties={"annotators":"sentiment","outputFormat":"json"}</code>
with the text as the body. Model: {model}.</p>
<p><code>POST /v1/classify</code> with <code>{"texts": [...]}</code> labels every phrase.
Health: <a href="/live">/live</a>, <a href="/ready">/ready</a>. Counts: <a href="/v1/stats">/v1/stats</a>.</p>
</body></html>
"""


async def _json_body(service: Any, request: Request) -> Any:
    """The request's body as JSON (400 when it is not)."""
    body = await service.read_text(request)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RequestError(f"the body is not JSON: {exc}") from None


def document_scores(sentences: list[dict]) -> list[dict]:
    """One score per text (``"document": true`` on ``/v1/classify``), as ``treernn classify
    --document`` gives it: the root distributions of the text's labeled sentences averaged,
    each weighted by its number of tokens (``sentences`` in text order, as ``/v1/classify``
    writes them)."""
    by_text: dict[int, list[dict]] = {}
    for s in sentences:
        by_text.setdefault(s["text"], []).append(s)
    out = []
    for text, group in by_text.items():
        weights = [max(len(s["tokens"]), 1) for s in group]
        total = sum(weights)
        doc: dict[str, Any] = {"document": True, "text": text, "sentences": len(group),
                               "tokens": sum(len(s["tokens"]) for s in group)}
        if "labelDistribution" in group[0]:
            names = list(group[0]["labelDistribution"])
            dist = {n: round(sum(w * s["labelDistribution"][n] for w, s in zip(weights, group)) / total, 4)
                    for n in names}
            doc.update(label=max(names, key=dist.__getitem__), labelDistribution=dist)
        else:
            five = [round(sum(w * s["sentimentDistribution"][v] for w, s in zip(weights, group)) / total, 4)
                    for v in range(5)]
            value = max(range(5), key=five.__getitem__)
            doc.update(sentimentValue=str(value), sentiment=CORENLP_NAMES[value], sentimentDistribution=five)
        out.append(doc)
    return out


#: CoreNLP's sentiment class names as its JSON writes them, by value (0-4).
CORENLP_NAMES = ("Verynegative", "Negative", "Neutral", "Positive", "Verypositive")


def create_app(config: ServeConfig, annotator: Any = None) -> Starlette:
    """The ASGI application. ``annotator`` (from :func:`load_annotator`) is loaded at start-up
    when not given."""
    service = _Service(config.check(), annotator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await service.start()
        if os.environ.get(_CONFIG_ENV):  # a worker process of several
            _say(f"treernn serve: worker {os.getpid()} ready")
        try:
            yield
        finally:
            await service.stop()

    async def page(request: Request) -> Response:
        return HTMLResponse(_PAGE.replace("{model}", config.model_name))

    async def live(request: Request) -> Response:
        return PlainTextResponse("live\n")

    async def ready(request: Request) -> Response:
        if service.ready:
            return PlainTextResponse("ready\n")
        return PlainTextResponse("server is not ready\n", status_code=503)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong\n")

    @_refusals
    async def corenlp(request: Request) -> Response:
        settings = read_properties(dict(request.query_params))
        text = await service.read_text(request)
        headers = {}
        if settings.ignored_annotators:
            headers["X-Treernn-Ignored-Annotators"] = ",".join(settings.ignored_annotators)
        fmt = settings.output_format
        if text.strip():
            body = (await service.respond([text], fmt))[0]
        else:  # nothing to label: an empty document, as CoreNLP answers
            body = (json.dumps(document_json([])) if fmt == "json" else document_text([])).encode()
        media = "application/json" if fmt == "json" else "text/plain; charset=utf-8"
        return Response(body, media_type=media, headers=headers)

    @_refusals
    async def classify(request: Request) -> Response:
        data = await _json_body(service, request)
        texts = data.get("texts") if isinstance(data, dict) else None
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise RequestError('the body must be {"texts": ["a text", ...]}: a list of strings')
        want_documents = data.get("document", False)
        if not isinstance(want_documents, bool):
            raise RequestError(f'"document" must be true or false, got {json.dumps(want_documents)}')
        errors: list[dict] = []
        wanted = [i for i, t in enumerate(texts) if t.strip()]
        for i, t in enumerate(texts):
            if not t.strip():
                errors.append({"text": i, "error": "empty text"})
        documents = await service.respond([texts[i] for i in wanted], "classify") if wanted else []
        out = []
        for i, sentences in zip(wanted, documents):
            for s in sentences:
                if s.error is not None:
                    errors.append({"text": i, "sentence": s.index, "error": s.error})
                else:
                    out.append({**s.prediction, "index": s.index, "text": i})
        errors.sort(key=lambda e: (e["text"], e.get("sentence", -1)))
        answer: dict = {"sentences": out, "errors": errors}
        if want_documents:
            answer["documents"] = document_scores(out)
        return JSONResponse(answer)

    @_refusals
    async def relate(request: Request) -> Response:
        data = await _json_body(service, request)
        pairs = data.get("pairs") if isinstance(data, dict) else None
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in pairs):
            raise RequestError('the body must be {"pairs": [["a text", "another text"], ...]}: pairs of strings')
        results = await service.respond([tuple(p) for p in pairs], "relate") if pairs else []
        out, errors = [], []
        for i, result in enumerate(results):
            if "error" in result:
                errors.append({"pair": i, "error": result["error"]})
            else:
                out.append({"pair": i, **result["ok"]})
        return JSONResponse({"pairs": out, "errors": errors})

    async def stats(request: Request) -> Response:
        counts = service.batcher.stats.to_json() if service.batcher else {}
        return JSONResponse({"model": config.model_name, "ready": service.ready, "pid": os.getpid(),
                             "uptime_seconds": round(time.time() - service.started, 1),
                             "settings": dataclasses.asdict(config), **counts})

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/", corenlp, methods=["POST"]),
        Route("/live", live, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/v1/classify", classify, methods=["POST"]),
        Route("/v1/relate", relate, methods=["POST"]),
        Route("/v1/stats", stats, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(_Concurrency, limit=config.max_concurrency)],
                     exception_handlers={HTTPException: _http_error, Exception: _internal_error})


class _Concurrency:
    """At most ``limit`` requests handled at once; the next gets 503 with a JSON error (uvicorn's
    own ``limit_concurrency`` answers in plain text). Bounds the memory a flood of clients takes."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit, self.active = app, limit, 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await _error(503, f"server busy: {self.active} requests at once (--max-concurrency {self.limit}); "
                              f"try again")(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def app_from_environment() -> Starlette:
    """The application of a worker process (``--workers N``): the settings from the environment."""
    return create_app(ServeConfig(**json.loads(os.environ[_CONFIG_ENV])))


# ---------------------------------------------------------------------------------- running
def serve(config: ServeConfig) -> int:
    """Run the server until SIGTERM or SIGINT; then stop taking connections, finish the
    requests in flight and return 0. Prints one line when ready (URL, model, device)."""
    import uvicorn

    config.check()
    common = dict(log_level="warning", access_log=False, timeout_graceful_shutdown=int(config.timeout) + 5,
                  lifespan="on")
    def note_signal(sig: int, frame: Any) -> None:
        # uvicorn raises the signal again after its graceful shutdown; with the default handler
        # that would end the process with -SIGTERM instead of 0
        pass

    sock = _bind(config.host, config.port)  # before the model loads: a port in use fails at once
    if config.workers > 1:
        sock.close()  # uvicorn's supervisor binds it again for its workers
        ModelProcess(config).close()  # a bad model fails here, with one line, not in every worker
        os.environ[_CONFIG_ENV] = json.dumps(dataclasses.asdict(config))
        _say(f"treernn serve: starting {config.workers} workers on http://{config.host}:{config.port} "
             f"(model: {config.model_name}, device {config.device})")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, note_signal)
        uvicorn.run("treernn.serve.app:app_from_environment", factory=True, host=config.host, port=config.port,
                    workers=config.workers, **common)
        return 0

    try:
        annotator = make_annotator(config)
    except BaseException:
        sock.close()
        raise
    app = create_app(config, annotator)

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started and self.servers:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                _say(f"treernn serve: ready at http://{host}:{port} (model: {config.model_name}, "
                     f"device {config.device}, {config.processes} model process(es), pid {os.getpid()})")

    server = _Server(uvicorn.Config(app, host=config.host, port=config.port, **common))
    for sig in (signal.SIGTERM, signal.SIGINT):  # from here uvicorn's shutdown handles them
        signal.signal(sig, note_signal)
    try:
        server.run(sockets=[sock])
    finally:
        if not server.started and hasattr(annotator, "close"):  # it never served: stop the model process(es)
            annotator.close()
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (uvicorn listens on it); one line if it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServerError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    # proto matters: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose
    # proto is IPPROTO_TCP; with 0, a client that sends headers and body apart waited 40 ms
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
