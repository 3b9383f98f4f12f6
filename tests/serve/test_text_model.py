"""The server with a model trained on the user's texts (``treernn serve --model DIR``)."""

from __future__ import annotations

import csv
import json

import httpx
import pytest

from servers import ServerProcess, running, stub_app
from treernn import pipeline
from treernn.cli import main
from treernn.serve.annotate import Annotator

TINY = ["--model.input_dim", "8", "--model.hidden_dim", "8", "--model.dropout", "0", "--trainer.optimizer", "adam",
        "--trainer.lr", "0.05", "--trainer.batch_size", "10", "--trainer.patience", "none",
        "--trainer.progress", "false", "--device", "cpu"]


@pytest.fixture
def reviews(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for subject in ("The film", "The story", "The ending"):
            for good, bad in zip(["good", "great", "fine", "superb"], ["bad", "awful", "dull", "tedious"]):
                writer.writerow([f"{subject} was {good}.", "ham"])
                writer.writerow([f"{subject} was {bad}. It ended.", "spam"])
    return path


def test_the_server_reads_a_text_as_training_did(tmp_path, reviews, capsys):
    """``treernn serve --model DIR`` of a model trained on texts: one sentence per text (its tree
    the sentences joined, as in training and in classify), the labels classify gives."""
    out = tmp_path / "run"
    assert main(["train", "--model", "child-sum-tree-lstm", "--corpus", f"text:{reviews}", "--out", str(out),
                 "--epochs", "3", *TINY]) == 0
    capsys.readouterr()
    texts = ["The ending was superb.", "The story was tedious. It ended.", "  "]
    assert main(["classify", "--model", str(out), "--format", "json", *texts[:2]]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    predictor = pipeline.load(out, max_tokens=None, max_chars=None)
    app, _ = stub_app(annotator=Annotator(predictor, 1000))
    with running(app) as url:
        got = httpx.post(f"{url}/v1/classify", json={"texts": texts, "document": True}, timeout=60).json()
        corenlp = httpx.post(url, params={"properties": '{"annotators": "sentiment", "outputFormat": "json"}'},
                             content=texts[1], timeout=60).json()
    assert [(s["text"], s["tokens"], s["label"]) for s in got["sentences"]] == \
           [(e["text"], e["tokens"], e["label"]) for e in expected]
    assert [d["sentences"] for d in got["documents"]] == [1, 1]
    assert got["errors"] == [{"text": 2, "error": "empty text"}]
    (sentence,) = corenlp["sentences"]  # the whole text, one tree
    assert [t["word"] for t in sentence["tokens"]] == expected[1]["tokens"]


def test_a_pair_model_is_served_on_v1_relate(tmp_path, capsys):
    """``treernn serve --model PAIR_DIR`` (here the model in a thread of the app): /v1/relate gives
    what ``treernn relate`` gives; the sentence endpoints say it is a pair model."""
    from treernn.serve.annotate import PairAnnotator

    path = tmp_path / "pairs.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "score"])
        for k, (x, y) in enumerate([("dog", "dog"), ("dog", "cat"), ("cat", "cat"), ("bird", "fish")] * 5):
            writer.writerow([f"The {x} runs.", f"The {y} runs.", 5 if x == y else 1 + k % 3])
    out = tmp_path / "pair"
    assert main(["train", "--model", "lstm", "--corpus", f"pairs:{path}", "--out", str(out), "--epochs", "2",
                 "--model.similarity_dim", "8", *TINY]) == 0
    capsys.readouterr()
    texts = [["The dog runs.", "The cat runs."], ["The bird runs.", ""], ["A fish.", "A fish."]]
    assert main(["relate", "--model", str(out), "The dog runs.", "The cat runs."]) == 0
    expected = json.loads(capsys.readouterr().out)
    app, _ = stub_app(annotator=PairAnnotator(pipeline.load(out)))
    with running(app) as url:
        got = httpx.post(f"{url}/v1/relate", json={"pairs": texts}, timeout=60).json()
        bad = httpx.post(f"{url}/v1/relate", json={"pairs": [["only one"]]}, timeout=60)
        sentence = httpx.post(f"{url}/v1/classify", json={"texts": ["A text."]}, timeout=60)
    assert [p["pair"] for p in got["pairs"]] == [0, 2]
    assert got["pairs"][0]["score"] == pytest.approx(expected["score"], abs=1e-4)
    assert got["errors"] == [{"pair": 1, "error": "second text: empty text"}]
    assert bad.status_code == 400 and "pairs of strings" in bad.json()["error"]
    assert sentence.status_code == 400 and "is a pair model" in sentence.json()["error"]

    server = ServerProcess(["--model", str(out)])  # the real server: the model in its own process
    try:
        real = httpx.post(f"{server.url}/v1/relate", json={"pairs": texts}, timeout=60).json()
        corenlp = httpx.post(server.url, params={"properties": '{"annotators": "sentiment"}'}, content="A text.",
                             timeout=60)
    finally:
        assert server.stop() == 0
    assert real == got
    assert corenlp.status_code == 400 and "is a pair model" in corenlp.json()["error"]
