"""The real server (``treernn serve``, the bundled model, a subprocess on a free loopback port)
with real CoreNLP clients: pycorenlp as its users call it, stanza's ``CoreNLPClient`` pointed at
it (no server started), plain httpx; the same labels as ``treernn classify``; limits; SIGTERM
with requests in flight; several workers on one port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import jsonschema
import pytest

from servers import ServerProcess, server  # noqa: F401  (server: a fixture)
from treernn.serve.launch import start_server
from treernn.resources import data_dir

TEXTS = [
    "The movie was great. The plot, not so much.",
    "An utterly charmless and tedious film, with no laughs at all.",
    "It is a wonderful, heartfelt story with terrific performances!",
]


@pytest.fixture(scope="module")
def expected():
    """What ``treernn classify --format json`` prints for TEXTS: each sentence's tokens and class."""
    r = subprocess.run([sys.executable, "-m", "treernn", "classify", "--format", "json", *TEXTS],
                       capture_output=True, text=True, timeout=300, check=True)
    out = [[] for _ in TEXTS]
    for line in r.stdout.splitlines():
        s = json.loads(line)
        out[s["text"]].append((s["tokens"], s["sentiment"], s["sentimentValue"]))
    return out


def _labels(doc: dict) -> list:
    return [([t["word"] for t in s["tokens"]], s["sentiment"], s["sentimentValue"]) for s in doc["sentences"]]


def test_pycorenlp_script_written_for_corenlp_gets_the_same_labels(server, expected):
    from pycorenlp import StanfordCoreNLP

    nlp = StanfordCoreNLP(server.url)  # the only change from a CoreNLP script: the URL
    for text, want in zip(TEXTS, expected):
        out = nlp.annotate(text, properties={"annotators": "tokenize,ssplit,parse,sentiment", "outputFormat": "json"})
        # pycorenlp 0.3.0 on Python >= 3.9 gives the JSON as a string (its json.loads(encoding=) fails)
        doc = json.loads(out) if isinstance(out, str) else out
        assert _labels(doc) == want
        for s in doc["sentences"]:
            assert s["sentimentTree"].startswith("(") and len(s["sentimentDistribution"]) == 5
    text = nlp.annotate(TEXTS[0], properties={"annotators": "sentiment", "outputFormat": "text"})
    assert text.startswith(f"Sentence #1 (5 tokens, sentiment: {expected[0][0][1]}):\nThe movie was great.\n")


def test_stanza_client_pointed_at_the_server(server, expected):
    from stanza.server import CoreNLPClient, StartServer
    from stanza.server.client import AnnotationException

    with CoreNLPClient(endpoint=server.url, start_server=StartServer.DONT_START, annotators=["sentiment"],
                       output_format="json", timeout=60000) as client:
        for text, want in zip(TEXTS, expected):
            assert _labels(client.annotate(text)) == want
        assert client.annotate(TEXTS[0], output_format="text").startswith("Sentence #1 (5 tokens")
        # stanza's default format is protobuf: refused with a body that names what is spoken
        with pytest.raises(AnnotationException, match="writes json or text"):
            client.annotate(TEXTS[0], output_format="serialized")


def test_tokens_carry_corenlp_offsets(server):
    text = "  Not bad at all.\n\nA (truly) dull mess...  "
    doc = httpx.post(server.url, params={"properties": '{"outputFormat": "json"}'}, content=text.encode(),
                     headers={"content-type": "text/plain; charset=utf-8"}, timeout=60).json()
    rebuilt = ""
    for s, sentence in enumerate(doc["sentences"]):
        assert sentence["index"] == s
        for k, t in enumerate(sentence["tokens"]):
            assert t["index"] == k + 1
            assert text[t["characterOffsetBegin"]:t["characterOffsetEnd"]] == t["word"] == t["originalText"]
            if not rebuilt:
                rebuilt = t["before"]
            rebuilt += t["word"] + t["after"]
    assert rebuilt == text  # before/after hold every character between the tokens
    assert [t["word"] for t in doc["sentences"][-1]["tokens"]][:3] == ["A", "(", "truly"]


def test_v1_classify_matches_classify_json(server, expected):
    r = httpx.post(f"{server.url}/v1/classify", json={"texts": TEXTS}, timeout=60)
    out = r.json()
    assert out["errors"] == []
    got = [[] for _ in TEXTS]
    schema = json.loads(data_dir("classify.schema.json").read_text())
    for s in out["sentences"]:
        jsonschema.validate(s, schema)  # the same objects as classify's JSON lines
        got[s["text"]].append((s["tokens"], s["sentiment"], s["sentimentValue"]))
        assert len(s["nodes"]) == 2 * len(s["tokens"]) - 1  # every phrase labeled (binarized)
    assert got == expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_limits_on_the_real_server():
    s = ServerProcess(["--max-tokens", "12", "--max-chars", "300"])
    try:
        long = "This is a sentence that goes on and on and on and on and on and on without an end"
        doc = httpx.post(s.url, content=f"Great fun. {long}. Awful.", timeout=60).json()
        first, middle, last = doc["sentences"]
        assert first["sentiment"] in ("Positive", "Verypositive") and last["sentiment"] in ("Negative", "Verynegative")
        assert middle["error"] == "sentence 2 of 21 tokens, over the limit of 12 (--max-tokens)"
        assert "sentiment" not in middle and len(middle["tokens"]) == 21
        r = httpx.post(s.url, content="x" * 301, timeout=60)
        assert r.status_code == 413 and r.json()["error"] == "body of 301 characters, over the limit of 300 (--max-chars)"
        out = httpx.post(f"{s.url}/v1/classify", json={"texts": ["Fine.", long]}, timeout=60).json()
        assert [x["text"] for x in out["sentences"]] == [0]
        assert out["errors"] == [{"text": 1, "sentence": 0, "error": "sentence 1 of 20 tokens, over the limit of 12 "
                                                                       "(--max-tokens)"}]
    finally:
        assert s.stop() == 0


def test_sigterm_finishes_the_requests_in_flight_and_exits_0():
    s = ServerProcess([])
    # 12 x 300 sentences: about 3 s of work here. With 60 a request (0.7 s of work) a fresh-clone
    # CI run saw every answer come back 35 ms before the signal, and the test failed.
    text = " ".join(f"The {i}th scene is funny and the music is lovely." for i in range(300))
    results: list = [None] * 12
    done_at: list = [0.0] * 12
    sent = threading.Semaphore(0)

    def one(i: int) -> None:
        try:
            with httpx.Client(timeout=120, event_hooks={"request": [lambda request: sent.release()]}) as client:
                results[i] = client.post(s.url, content=text)
        except httpx.HTTPError as exc:
            results[i] = exc
        done_at[i] = time.monotonic()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for _ in threads:  # every request on its way ...
        assert sent.acquire(timeout=30)
    time.sleep(0.2)  # ... and read by the server: then the signal, with seconds of work left
    signalled = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(120)
    code = s.proc.wait(60)
    exited = time.monotonic()
    assert code == 0, s.proc.stderr.read()[-2000:]
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in results), results
    assert all(len(r.json()["sentences"]) == 300 for r in results)
    assert max(done_at) > signalled, (max(done_at) - signalled, min(done_at) - signalled)  # in flight at the signal
    assert exited - max(done_at) < 5  # and the server went soon after the last one
    with pytest.raises(httpx.ConnectError):
        httpx.get(s.url + "/live", timeout=5)


def test_several_workers_share_one_port():
    proc, url = start_server(["--port", str(_free_port()), "--workers", "2"], timeout=240)
    try:
        assert url.startswith("http://127.0.0.1:")
        for text in TEXTS:
            assert httpx.post(url, content=text, timeout=60).json()["sentences"][0]["sentiment"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


NASTY = ["\x00", "a\x00b", "\u200b\u200b", "🙂🙂🙂 great!", "\u202ereversed\u202c text", "x" * 5000, "( ( ( )",
         "\t\n\r\x0b\x0c", ".", "...", "!!!", "%", "+", "a+b%2", "<html><script>alert(1)</script>", '{"a": 1}',
         "\u0301\u0301 e\u0301", "Ａ ｆｕｌｌ－ｗｉｄｔｈ ｔｅｘｔ", "\U0010ffff", "word " * 1500, "\n\n\n.\n\n\n",
         "(3 (2 a) (4 tree))"]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_odd_text_is_answered_never_a_500(server, fmt):
    with httpx.Client(timeout=120) as client:
        for text in NASTY:
            r = client.post(server.url, params={"properties": str({"outputFormat": fmt})}, content=text.encode(),
                            headers={"content-type": "text/plain; charset=utf-8"})
            assert r.status_code == 200, (text[:40], r.status_code, r.text[:200])
            if fmt == "json":
                for s in r.json()["sentences"]:
                    assert ("error" in s) != ("sentiment" in s)
                    for t in s["tokens"]:
                        assert text[t["characterOffsetBegin"]:t["characterOffsetEnd"]] == t["word"]
        r = client.post(f"{server.url}/v1/classify", json={"texts": NASTY})
        assert r.status_code == 200 and len(r.json()["sentences"]) >= len(NASTY) - 4


def test_a_port_in_use_is_one_line_before_the_model_loads():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "treernn", "serve", "--port", str(port)],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == f"treernn: error: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_start_server_says_why_a_server_did_not_start_and_never_waits_past_its_timeout():
    from treernn.errors import ServerError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"exited with code 2: treernn: error: cannot listen on 127.0.0.1:{port}"):
            start_server(["--port", str(port)], timeout=120)
    started = time.monotonic()
    with pytest.raises(ServerError, match="not ready after 0 s"):  # torch, spaCy and the model take longer
        start_server(["--port", "0"], timeout=0.2)
    assert time.monotonic() - started < 30  # killed at the timeout, not waited for


def _model_processes(pid: int) -> list[int]:
    from pathlib import Path

    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if "treernn.serve.model_process" in Path(f"/proc/{child}/cmdline").read_text():
                out.append(int(child))
    return out


def test_a_model_process_that_dies_is_restarted():
    s = ServerProcess(["--model-processes", "1"])
    try:
        (victim,) = _model_processes(s.proc.pid)
        os.kill(victim, signal.SIGKILL)
        r = httpx.post(s.url, content="Good fun.", timeout=120)
        assert r.status_code == 503 and "restarted" in r.json()["error"]
        assert httpx.post(s.url, content="Good fun.", timeout=120).json()["sentences"][0]["sentiment"]
        assert _model_processes(s.proc.pid) not in ([], [victim])
    finally:
        assert s.stop() == 0


def test_v1_classify_documents_match_classify_document(server):
    """``"document": true`` gives each text the score ``treernn classify --document`` gives it."""
    r = subprocess.run([sys.executable, "-m", "treernn", "classify", "--format", "json", "--document", *TEXTS],
                       capture_output=True, text=True, timeout=300, check=True)
    wanted = [json.loads(line) for line in r.stdout.splitlines() if json.loads(line).get("document")]
    out = httpx.post(f"{server.url}/v1/classify", json={"texts": TEXTS, "document": True}, timeout=60).json()
    schema = json.loads(data_dir("classify-document.schema.json").read_text())
    assert len(out["documents"]) == len(TEXTS) == len(wanted)
    for got, want in zip(out["documents"], wanted):
        jsonschema.validate(got, schema)
        assert {k: got[k] for k in ("text", "sentences", "tokens", "sentimentValue")} == \
               {k: want[k] for k in ("text", "sentences", "tokens", "sentimentValue")}
        assert got["sentimentDistribution"] == pytest.approx(want["sentimentDistribution"], abs=2e-3)
    assert out["documents"][0]["sentences"] == 2  # "The movie was great. The plot, not so much."
    bad = httpx.post(f"{server.url}/v1/classify", json={"texts": TEXTS, "document": "yes"}, timeout=60)
    assert bad.status_code == 400 and '"document" must be true or false' in bad.json()["error"]
    assert "documents" not in httpx.post(f"{server.url}/v1/classify", json={"texts": TEXTS}, timeout=60).json()
