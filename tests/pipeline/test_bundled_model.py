"""The sentiment model shipped in the package (treernn/data/models/sst-fine): it loads with no
argument everywhere (API, command line, spaCy component) and keeps its SST dev accuracy on the
gold trees (50.23% fine-grained, 87.5% binary when built; scripts/build-bundled-model)."""

from __future__ import annotations

import json

import pytest

import treernn
from treernn.cli import main
from treernn.resources import bundled_model_dir


def test_bundled_model_is_small_and_safetensors_only():
    files = sorted(p.name for p in bundled_model_dir().iterdir())
    assert files == ["config.json", "model.safetensors", "vocab.json"]
    assert sum(p.stat().st_size for p in bundled_model_dir().iterdir()) < 10 * 2**20
    config = json.loads((bundled_model_dir() / "config.json").read_text())
    assert config["model"]["encoder"] == "tree-lstm" and config["model"]["num_classes"] == 5
    assert config["built_by"] == "scripts/build-bundled-model"


def test_bundled_model_dev_accuracy_on_gold_trees(sst_dir):
    from treernn.corpora import load_sst

    dev = dict(load_sst(sst_dir, classes=5).splits())["dev"]
    predictor = treernn.load()
    predictions = predictor.predict_trees(predictor.shape(dev))
    fine = sum(p.label == t.label for p, t in zip(predictions, dev)) / len(dev)
    polar = [(p, t.label) for p, t in zip(predictions, dev) if t.label != 2]
    binary = sum((p.binary == "positive") == (g > 2) for p, g in polar) / len(polar)
    assert len(dev) == 1101 and fine >= 0.495 and binary >= 0.865, (fine, binary)


def test_classify_needs_no_model_directory(capsys):
    capsys.readouterr()
    assert main(["classify", "Not bad at all."]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("# text 1, sentence 1: ") and "Not" in out.out and out.err == ""
    assert main(["classify", "--format", "json", "A dull, lifeless film."]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["sentiment"] in ("Verynegative", "Negative")  # the model reads it right


def test_spacy_component_needs_no_config(nlp):
    import spacy

    pipe = spacy.load(nlp.meta["lang"] + "_" + nlp.meta["name"])
    pipe.add_pipe("treernn")
    doc = pipe("A great movie. An awful story.")
    labels = [s._.treernn.label_name for s in doc.sents]
    assert labels[0] in ("positive", "very positive") and labels[1] in ("negative", "very negative")
