"""Sentence pairs end to end: a tiny pair corpus made here (scores and labels), a SICK-format
file, training and evaluating with the pair metrics, bad pair input."""

from __future__ import annotations

import csv
import json

import pytest

from treernn.cli import main
from treernn.corpora.pairs import load_pair_task
from treernn.corpora.texts import TextOptions
from treernn.errors import ConfigError, CorpusError

TINY = ["--model.input_dim", "8", "--model.hidden_dim", "8", "--model.dropout", "0", "--model.similarity_dim", "8",
        "--trainer.optimizer", "adam", "--trainer.lr", "0.05", "--trainer.batch_size", "8",
        "--trainer.patience", "none", "--trainer.progress", "false", "--device", "cpu"]
ANIMALS = ["dog", "cat", "horse", "bird", "fish", "cow"]
VERBS = ["runs", "sleeps", "eats", "swims", "jumps", "sings"]


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def pairs_csv(tmp_path):
    """Pairs whose score counts what they share: same animal and verb 5, one of them 3, none 1."""
    path = tmp_path / "pairs.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "first", "second", "score", "relation"])
        k = 0
        for i, a in enumerate(ANIMALS):
            for j, v in enumerate(VERBS):
                for a2, v2 in ((a, v), (a, VERBS[(j + 1) % 6]), (ANIMALS[(i + 1) % 6], VERBS[(j + 2) % 6])):
                    score = 1 + 2 * (a == a2) + 2 * (v == v2)
                    relation = "same" if score == 5 else "other"
                    writer.writerow([f"p{k}", f"The {a} {v}.", f"The {a2} {v2}.", score, relation])
                    k += 1
    return path


def test_user_pairs_train_with_relatedness_metrics(tmp_path, pairs_csv, capsys):
    out = tmp_path / "rel"
    assert main(["train", "--model", "child-sum-tree-lstm", "--corpus", f"pairs:{pairs_csv}", "--out", str(out),
                 "--data.text_columns", "first,second", "--epochs", "25", *TINY]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics["test"]) >= {"pearson", "spearman", "mse", "pairs"}
    assert metrics["train"]["pearson"] > 0.9  # learnable: the score counts shared words
    assert json.loads((out / "config.json").read_text())["model"]["task"] == "relatedness"
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pearson"] == pytest.approx(metrics["test"]["pearson"])


def test_user_pairs_with_labels_train_a_classifier(tmp_path, pairs_csv, capsys):
    assert main(["train", "--model", "bilstm", "--corpus", f"pairs:{pairs_csv}", "--out", str(tmp_path / "cls"),
                 "--data.text_columns", "first,second", "--data.target", "label", "--data.label_column", "relation",
                 "--epochs", "15", *TINY]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["train"]["accuracy"] >= 0.9 and "pearson" not in metrics["test"]
    saved = json.loads((tmp_path / "cls" / "config.json").read_text())["model"]
    assert saved["task"] == "classes" and saved["label_names"] == ["other", "same"]


SICK_HEADER = ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tentailment_AB\tentailment_BA\t"
               "sentence_A_original\tsentence_B_original\tsentence_A_dataset\tsentence_B_dataset\tSemEval_set")


def _sick_line(k, a, b, label, score, split):
    return f"{k}\t{a}\t{b}\t{label}\t{score}\tx\tx\ta\tb\tFLICKR\tFLICKR\t{split}"


def test_a_sick_format_file_by_data_path(tmp_path, capsys):
    folder = tmp_path / "sick"
    folder.mkdir()
    lines, k = [SICK_HEADER], 1
    for split, n in (("TRAIN", 24), ("TRIAL", 6), ("TEST", 6)):
        for i in range(n):
            a, v = ANIMALS[i % 6], VERBS[(i // 6) % 6]
            same = i % 2 == 0
            b = f"The {a} {v}." if same else f"A {ANIMALS[(i + 3) % 6]} never {VERBS[(i + 1) % 6]}."
            lines.append(_sick_line(k, f"The {a} {v}.", b, "ENTAILMENT" if same else "NEUTRAL",
                                    4.8 if same else 1.6, split))
            k += 1
    (folder / "SICK.txt").write_text("\r\n".join(lines) + "\r\n")
    for target, key in (("relatedness", "pearson"), ("entailment", "accuracy")):
        assert main(["train", "--model", "lstm", "--corpus", "sick", "--data-path", str(folder), "--out",
                     str(tmp_path / target), "--data.target", target, "--epochs", "3", *TINY]) == 0
        metrics = json.loads(capsys.readouterr().out)
        assert metrics["test"]["pairs"] == 6 and key in metrics["test"]
    saved = json.loads((tmp_path / "entailment" / "config.json").read_text())["model"]
    assert saved["label_names"] == ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]


def test_bad_pair_input(tmp_path, pairs_csv):
    options = TextOptions(progress=False, text_columns="first,second")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,score\nThe dog runs.,The cat runs.,7\n")
    with pytest.raises(CorpusError, match=r"bad\.csv:2: score '7' in column 'score' is not a number in \[1, 5\]"):
        load_pair_task(f"pairs:{bad}", "relatedness", TextOptions(progress=False))
    bad.write_text("a,b,score\nThe dog runs.,,3\n")
    with pytest.raises(CorpusError, match=r"bad\.csv:2: empty text in column 'b'"):
        load_pair_task(f"pairs:{bad}", "relatedness", TextOptions(progress=False))
    one = tmp_path / "one.csv"
    one.write_text("text,score\nThe dog runs.,3\n")
    with pytest.raises(CorpusError, match="no column 'a'"):
        load_pair_task(f"pairs:{one}", "relatedness", TextOptions(progress=False))
    with pytest.raises(ConfigError, match="data.score_range must have LOW below HIGH"):
        load_pair_task(f"pairs:{pairs_csv}", "relatedness", options, score_range="5,1")
    with pytest.raises(ConfigError, match="data.text_columns must name two columns"):
        load_pair_task(f"pairs:{pairs_csv}", "relatedness", TextOptions(progress=False, text_columns="first"))
    with pytest.raises(ConfigError, match="for sick is relatedness or entailment"):
        load_pair_task("sick", "label", options)


def test_compare_sick_writes_the_pearson_table(tmp_path, capsys):
    folder = tmp_path / "sick"
    folder.mkdir()
    lines, k = [SICK_HEADER], 1
    for split, n in (("TRAIN", 12), ("TRIAL", 4), ("TEST", 4)):
        for i in range(n):
            lines.append(_sick_line(k, f"The {ANIMALS[i % 6]} runs.", f"A {ANIMALS[(i + k) % 6]} sleeps.",
                                    "NEUTRAL", 1 + (i % 5) * 0.9, split))
            k += 1
    (folder / "SICK.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "cmp"
    assert main(["compare", "sick", "--models", "child-sum-tree-lstm,lstm", "--epochs", "1", "--data-path",
                 str(folder), "--out", str(out), *TINY]) == 0
    table = (out / "sick.md").read_text()
    assert "| Dependency Tree-LSTM (Child-Sum, spaCy parses) |" in table and "0.8676 / 0.8083 / 0.2532" in table
    assert set(json.loads((out / "sick.json").read_text())["runs"]) == {"relatedness/child-sum-tree-lstm/0",
                                                                         "relatedness/lstm/0"}


def test_relate_scores_pairs_from_arguments_a_file_and_stdin(tmp_path, pairs_csv, capsys, monkeypatch):
    import io
    import sys

    from treernn import pipeline

    out = tmp_path / "rel"
    assert main(["train", "--model", "child-sum-tree-lstm", "--corpus", f"pairs:{pairs_csv}", "--out", str(out),
                 "--data.text_columns", "first,second", "--epochs", "20", *TINY]) == 0
    capsys.readouterr()
    assert main(["relate", "--model", str(out), "The dog runs.", "The dog runs."]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["input"] == "<args>" and 1 <= line["score"] <= 5 and set(line["distribution"]) == set("12345")
    same, none = pipeline.load(out).relate([("The dog runs.", "The dog runs."), ("The dog runs.", "The cow sings.")])
    assert same.score > none.score  # it learned: a shared animal and verb relate more

    assert main(["relate", "--model", str(out), "--file", str(pairs_csv), "--text-columns", "first,second"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 108 and lines[0]["input"] == f"{pairs_csv}:2"

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        b"The cat sleeps.\tThe cat sleeps.\nno tab here\n\tThe dog runs.\n\xff\tx\n")))
    code = main(["relate", "--model", str(out), "-"])
    captured = capsys.readouterr()
    assert code == 2 and [json.loads(x)["input"] for x in captured.out.splitlines()] == ["<stdin>:1"]
    errors = captured.err.splitlines()  # reading errors as they are read, refused pairs as their chunk runs
    assert len(errors) == 4 and errors[-1] == "treernn: 3 input(s) failed"
    for message in ("<stdin>:2: expected two texts separated by one TAB", "<stdin>:3: first text: empty text",
                    "<stdin>:4: not UTF-8"):
        assert any(message in e for e in errors), message
    assert main(["relate", "--model", str(out), "only one"]) == 2
    assert "relate takes two TEXT arguments" in capsys.readouterr().err
