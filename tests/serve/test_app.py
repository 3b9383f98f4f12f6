"""The server's behaviour with a stand-in model (served by uvicorn in a thread): batching across
requests, limits, timeouts, a full queue, and error bodies that are always one-line JSON."""

from __future__ import annotations

import io
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from servers import StubAnnotator, running, stub_app

PROPS = {"properties": '{"annotators": "sentiment", "outputFormat": "json"}'}


def _post_many(url: str, n: int, text=lambda i: f"text {i}", **kwargs) -> list[httpx.Response]:
    def one(i):
        with httpx.Client(timeout=30) as client:
            return client.post(url, params=PROPS, content=text(i), **kwargs)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _one_line_json_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"] and "\n" not in body["error"]
    return body["error"]


def test_concurrent_requests_share_batches():
    app, stub = stub_app(delay=0.05, max_batch=64, max_wait_ms=100)
    with running(app) as url:
        responses = _post_many(url, 24)
    assert [r.status_code for r in responses] == [200] * 24
    assert [r.json()["sentences"][0]["tokens"][0]["word"] for r in responses] == [f"text {i}" for i in range(24)]
    batches = stub.batches[1:]  # the first is the warm-up
    assert sum(batches) == 24
    assert len(batches) <= 6 and max(batches) >= 4, batches


def test_max_batch_one_runs_requests_one_at_a_time():
    app, stub = stub_app(max_batch=1, max_wait_ms=0)
    with running(app) as url:
        responses = _post_many(url, 8)
    assert all(r.status_code == 200 for r in responses)
    assert stub.batches[1:] == [1] * 8


def test_a_batch_that_fails_fails_only_the_request_at_fault():
    app, stub = stub_app(max_batch=64, max_wait_ms=200)
    with running(app) as url:
        responses = _post_many(url, 6, text=lambda i: "raise" if i == 3 else f"text {i}")
    assert [r.status_code for r in responses] == [200, 200, 200, 400, 200, 200]
    assert _one_line_json_error(responses[3], 400) == "this text is refused"


def test_a_request_over_the_timeout_gets_503_at_the_timeout():
    stub = StubAnnotator(delay=0)
    app, _ = stub_app(annotator=stub, timeout=0.3)
    with running(app) as url:
        stub.delay = 3.0  # after the warm-up
        r = httpx.post(url, params=PROPS, content="slow", timeout=30)
        answered = time.monotonic()
        assert "--timeout" in _one_line_json_error(r, 503)
        assert answered < stub.finished  # answered at the timeout, not when the batch was done


def test_a_full_queue_gets_503():
    app, _ = stub_app(delay=0.5, max_queue=2, max_batch=1, max_wait_ms=0)
    with running(app) as url:
        responses = _post_many(url, 8)
    codes = sorted(r.status_code for r in responses)
    assert 200 in codes and 503 in codes, codes
    busy = [r for r in responses if r.status_code == 503]
    assert "server busy" in _one_line_json_error(busy[0], 503)


def test_limits_and_bad_input_get_4xx_with_a_json_error():
    app, _ = stub_app(max_chars=50)
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert "over the limit of 50" in _one_line_json_error(client.post("/", params=PROPS, content="x" * 51), 413)
        assert client.post("/", params=PROPS, content="é" * 50).status_code == 200  # characters, not bytes
        # a body announced far over the limit is refused before it is read
        assert "over the limit" in _one_line_json_error(
            client.post("/", params=PROPS, content=b"x" * 1000), 413)
        assert "not valid utf-8" in _one_line_json_error(
            client.post("/", params=PROPS, content=b"caf\xe9", headers={"content-type": "text/plain"}), 400)
        assert "is not a map" in _one_line_json_error(client.post("/", params={"properties": "{'a':"}, content="x"), 400)
        assert "writes json or text" in _one_line_json_error(
            client.post("/", params={"properties": "{'outputFormat': 'serialized'}"}, content="x"), 400)
        assert "no such path" in _one_line_json_error(client.get("/nothing"), 404)
        assert "not allowed" in _one_line_json_error(client.put("/", content="x"), 405)
        assert "not JSON" in _one_line_json_error(client.post("/v1/classify", content="{"), 400)
        assert "list of strings" in _one_line_json_error(client.post("/v1/classify", json={"texts": [1]}), 400)
        assert "list of strings" in _one_line_json_error(client.post("/v1/classify", json=["a"]), 400)


def test_health_pages_and_empty_text():
    app, stub = stub_app()
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/").status_code == 200 and "treernn" in client.get("/").text
        assert client.get("/live").text == "live\n"
        assert client.get("/ready").text == "ready\n"
        assert client.get("/ping").text == "pong\n"
        batches = len(stub.batches)
        assert client.post("/", params=PROPS, content="  \n").json() == {"sentences": []}
        assert len(stub.batches) == batches  # nothing to label: the model is not asked
        out = client.post("/v1/classify", json={"texts": ["a", "", "b"]}).json()
        assert [s["tokens"] for s in out["sentences"]] == [["a"], ["b"]]
        assert [s["text"] for s in out["sentences"]] == [0, 2]
        assert out["errors"] == [{"text": 1, "error": "empty text"}]
        stats = client.get("/v1/stats").json()
        assert stats["ready"] and stats["settings"]["max_batch"] == 256


def test_ignored_annotators_are_named_in_a_header():
    app, _ = stub_app()
    with running(app) as url:
        r = httpx.post(url, params={"properties": "{'annotators': 'tokenize,ssplit,pos,ner,sentiment'}"}, content="x")
        assert r.status_code == 200 and r.headers["x-treernn-ignored-annotators"] == "pos,ner"
        r = httpx.post(url, params={"properties": "{'annotators': 'sentiment'}"}, content="x")
        assert "x-treernn-ignored-annotators" not in r.headers


def test_random_input_never_gets_a_500():
    rng = random.Random(0)
    pieces = ["{", "}", "'", '"', ":", ",", "annotators", "outputFormat", "json", "text", "serialized", "%", "\\", " "]
    app, _ = stub_app(max_chars=200)
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(150):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
            props = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
            ctype = rng.choice([None, "text/plain", "text/plain; charset=latin-1", "application/x-www-form-urlencoded",
                                "text/plain; charset=nope"])
            headers = {"content-type": ctype} if ctype else {}
            path = rng.choice(["/", "/v1/classify"])
            r = client.post(path, params={"properties": props}, content=body, headers=headers)
            assert r.status_code in (200, 400, 413), (r.status_code, r.text, props, body[:40])
            if r.status_code != 200:
                _one_line_json_error(r, r.status_code)


@pytest.mark.parametrize("settings, message", [
    ({"max_batch": 0}, "--max-batch must be an integer >= 1"),
    ({"max_chars": -1}, "--max-chars must be an integer >= 0"),
    ({"timeout": 0}, "--timeout must be > 0"),
    ({"port": 70000}, "--port must be 0-65535"),
])
def test_bad_settings_are_refused(settings, message):
    from treernn.errors import ServerError
    from treernn.serve.app import ServeConfig

    with pytest.raises(ServerError, match=message):
        ServeConfig(**settings).check()


def test_batcher_runs_as_many_batches_at_once_as_it_has_models():
    import asyncio
    import threading

    from treernn.serve.batching import Batcher

    active, most = [0], [0]
    lock = threading.Lock()

    def work(texts):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return [t.upper() for t in texts]

    async def main(concurrency):
        batcher = Batcher(work, max_batch=1, max_wait=0, concurrency=concurrency)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(4)))
        finally:
            await batcher.close()

    for concurrency, expected_most in ((1, 1), (2, 2)):
        most[0] = 0
        assert asyncio.run(main(concurrency)) == [["T0"], ["T1"], ["T2"], ["T3"]]
        assert most[0] == expected_most


def test_a_body_that_stops_arriving_gets_408_at_the_timeout():
    import socket

    app, _ = stub_app(timeout=0.5)
    with running(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly a part")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                piece = sock.recv(4096)
                if not piece:
                    break
                answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b"did not arrive within 0.5 s (--timeout)" in body


def test_requests_past_max_concurrency_get_503():
    app, _ = stub_app(delay=0.5, max_concurrency=2, max_batch=1, max_wait_ms=0)
    with running(app) as url:
        responses = _post_many(url, 6)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 2 and 503 in codes, codes
    assert "--max-concurrency 2" in _one_line_json_error([r for r in responses if r.status_code == 503][0], 503)


def test_the_listening_socket_is_tcp_so_asyncio_turns_nagle_off():
    import socket

    from treernn.serve.app import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; with proto 0 a
        # client sending headers and body in two writes waited for the 40 ms delayed ACK
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


class _Writes(io.StringIO):
    """A stdout that records each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_a_worker_writes_its_ready_line_in_one_write(monkeypatch):
    # the workers of --workers N share stdout; print() writes a line's text and its newline apart,
    # so with unbuffered output two workers' ready lines ran into one and `start_server` waited
    from treernn.serve.app import _CONFIG_ENV

    monkeypatch.setenv(_CONFIG_ENV, "{}")  # as in a worker process
    out = _Writes()
    monkeypatch.setattr(sys, "stdout", out)
    app, _ = stub_app()
    with running(app):
        pass
    (ready,) = [w for w in out.writes if "ready" in w]
    assert ready.startswith("treernn serve: worker ") and ready.endswith(" ready\n") and ready.count("\n") == 1
