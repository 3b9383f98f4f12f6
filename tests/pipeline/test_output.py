"""`treernn classify --format json`: CoreNLP's sentiment fields on CoreNLP's scale for sentiment
models, neutral names for other models, checked against the JSON Schema file in the package;
``sentimentTree`` laid out as CoreNLP's ``Tree.pennPrint``."""

from __future__ import annotations

import json

import jsonschema
import pytest

from treernn.models import ModelConfig, build_model
from treernn.pipeline import CORENLP_CLASSES, Predictor, corenlp_values, _penn
from treernn.resources import data_dir
from treernn.trees import from_ptb
from treernn.vocab import Vocab

SCHEMA = json.loads((data_dir("classify.schema.json")).read_text())
TREES = ["(S (NP (DT a) (JJ good) (NN film)) (VP (VBD was) (JJ bad)))", "(X (Y film) (Z good))"]


def _predictor(label_names, sentence_classes=None):
    vocab = Vocab.build([["a", "good", "film", "was", "bad"]])
    config = ModelConfig(vocab_size=len(vocab), input_dim=4, hidden_dim=4, label_names=label_names,
                         num_classes=len(label_names), sentence_classes=sentence_classes)
    return Predictor(build_model(config), vocab)


def _lines(predictor):
    # bracketed texts are read as given (no spaCy needed); categories come from their labels
    out = [p.to_json() for p in predictor(TREES)]
    for obj in out:
        jsonschema.validate(obj, SCHEMA)
    return out


def test_schema_file_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_fine_grained_model_writes_corenlp_fields():
    names = ["very negative", "negative", "neutral", "positive", "very positive"]
    for obj in _lines(_predictor(names)):
        value = int(obj["sentimentValue"])
        assert obj["sentiment"] == CORENLP_CLASSES[value].replace(" ", "")  # Verynegative ... as CoreNLP
        dist = obj["sentimentDistribution"]
        assert len(dist) == 5 and abs(sum(dist) - 1) < 1e-3 and max(dist) == dist[value]
        assert obj["sentimentTree"].startswith(f"(S|sentiment={value}|prob=") or obj["sentimentTree"].startswith("(X|")
        assert "label" not in obj and all("label" not in n for n in obj["nodes"])


@pytest.mark.parametrize("names, sentence_classes", [
    (["negative", "positive", "neutral"], 2),  # SST binary, neutral phrases as a third class
    (["negative", "positive"], None), (["Negative", "Neutral", "Positive"], None)])
def test_fewer_classes_map_onto_corenlp_scale(names, sentence_classes):
    values = corenlp_values(names)
    assert values == [{"negative": 1, "neutral": 2, "positive": 3}[n.lower()] for n in names]
    for obj in _lines(_predictor(names, sentence_classes)):
        assert obj["sentimentValue"] in {str(v) for v in values}
        dist = obj["sentimentDistribution"]
        assert dist[0] == dist[4] == 0.0  # never predicted: very negative, very positive
        if "neutral" not in [n.lower() for n in names]:
            assert dist[2] == 0.0
        probs = {n.lower(): dist[v] for n, v in list(zip(names, values))[:sentence_classes]}
        assert obj["sentiment"] == max(probs, key=probs.get).capitalize()


def test_other_tasks_use_neutral_names():
    names = ["attach-verb", "attach-noun"]
    assert corenlp_values(names) is None
    for obj in _lines(_predictor(names)):
        assert obj["label"] in names and set(obj["labelDistribution"]) == set(names)
        assert not any(key.startswith("sentiment") for key in obj)
        assert all(not any(key.startswith("sentiment") for key in n) for n in obj["nodes"])


def test_binary_decision_from_a_fine_grained_model():
    p = _predictor(["very negative", "negative", "neutral", "positive", "very positive"])(TREES[0])[0]
    root = p.probabilities[-1]
    assert p.binary == ("positive" if root[3] + root[4] > root[0] + root[1] else "negative")
    assert _predictor(["x", "y"])(TREES[0])[0].binary is None


def test_schema_rejects_mixed_or_wrong_fields():
    obj = _lines(_predictor(["very negative", "negative", "neutral", "positive", "very positive"]))[0]
    for bad in ({**obj, "label": "x"}, {**obj, "sentiment": "Very negative"},
                {**obj, "sentimentDistribution": [1.0]}, {k: v for k, v in obj.items() if k != "sentimentTree"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_penn_layout_is_corenlps():
    # CoreNLP's Tree.pennPrint: preterminals after a preterminal stay on the line (a CC and the one
    # after it do not),
    # other nodes start a new line indented two spaces per level.
    tree = from_ptb("(ROOT (S (NP (DT The) (NN film)) (VP (VBD was) (ADJP (JJ good) (CC and) (JJ short)))))")
    assert _penn(tree, lambda n: n.label) == (
        "(ROOT\n"
        "  (S\n"
        "    (NP (DT The) (NN film))\n"
        "    (VP (VBD was)\n"
        "      (ADJP (JJ good)\n"
        "        (CC and)\n"
        "        (JJ short)))))")
