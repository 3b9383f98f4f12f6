"""The parse-and-classify pipeline: treernn.load, `treernn classify`, the spaCy component."""

from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET

import pytest
import torch

from treernn.cli import main
from treernn.errors import ParserError
from treernn.errors import CheckpointError
from treernn.training.config import resolve_config
from treernn.training.run import train

# A tiny SST-format treebank: enough for a model to learn "good" / "bad" in a few seconds.
TREES = [
    "(3 (2 the) (3 (2 film) (3 (2 was) (3 good))))", "(1 (2 the) (1 (2 plot) (1 (2 was) (1 bad))))",
    "(4 (2 a) (4 (4 great) (2 movie)))", "(0 (2 an) (0 (0 awful) (2 story)))",
    "(3 (3 good) (2 fun))", "(1 (1 bad) (2 acting))",
]
TEXTS = ["The film was good. The plot was bad.", "A great movie.", "An awful story!"]


@pytest.fixture(scope="module")
def sst_tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("sst")
    for split in ("train", "dev", "test"):
        (d / f"{split}.txt").write_text("\n".join(TREES) + "\n")
    return d


def _train(sst_tiny, out, encoder):
    cfg = resolve_config(None, [("data.corpus", "sst"), ("data.path", str(sst_tiny)),
                                ("model.encoder", encoder), ("model.input_dim", "8"),
                                ("model.hidden_dim", "8"), ("model.dropout", "0"),
                                ("trainer.optimizer", "adam"), ("trainer.lr", "0.05"),
                                ("trainer.embedding_optimizer", "same"), ("trainer.epochs", "15"),
                                ("trainer.batch_size", "2"), ("trainer.progress", "false"),
                                ("run.device", "cpu")])
    train(cfg, out, log=lambda m: None)
    return out


@pytest.fixture(scope="module", params=["tree-lstm", "child-sum-tree-lstm", "bilstm"])
def model_dir(request, sst_tiny, tmp_path_factory):
    return _train(sst_tiny, tmp_path_factory.mktemp(request.param) / "m", request.param)


@pytest.fixture(scope="module")
def tree_model(sst_tiny, tmp_path_factory):
    return _train(sst_tiny, tmp_path_factory.mktemp("tree") / "m", "tree-lstm")


def _classify(capsys, *args, stdin: bytes = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    capsys.readouterr()
    code = main(["classify", "--model", *map(str, args)])  # args[0]: the model directory
    out = capsys.readouterr()
    return code, out.out, out.err


def test_api_cli_and_spacy_component_agree(model_dir, capsys, nlp):
    import treernn

    api = treernn.load(model_dir)(TEXTS)
    assert [(p.text_index, p.sentence_index) for p in api] == [(0, 0), (0, 1), (1, 0), (2, 0)]
    code, out, err = _classify(capsys, model_dir, "--format", "json", *TEXTS)
    assert code == 0, err
    cli = [json.loads(line) for line in out.splitlines()]
    assert [c["sentimentDistribution"] for c in cli] == [p.to_json()["sentimentDistribution"] for p in api]
    import spacy

    pipe = spacy.load(nlp.meta["lang"] + "_" + nlp.meta["name"])
    pipe.add_pipe("treernn", config={"model": str(model_dir)})
    docs = list(pipe.pipe(TEXTS))
    comp = [p for doc in docs for p in doc._.treernn]
    assert [p.probabilities for p in comp] == [p.probabilities for p in api]
    sents = [s for doc in docs for s in doc.sents]
    assert [s._.treernn.label for s in sents] == [p.label for p in api]
    assert docs[0][0:2]._.treernn is None  # not a sentence


def test_model_learned_the_words(tree_model):
    import treernn

    leaves = {n.token: n.label for p in treernn.load(tree_model)(TEXTS) for n in p.tree.postorder()
              if not n.children}
    assert (leaves["good"], leaves["bad"], leaves["great"], leaves["awful"]) == (3, 1, 4, 0)


def test_batch_equals_one_by_one(model_dir):
    import treernn

    predict = treernn.load(model_dir, batch_size=3)
    together = predict(TEXTS)
    alone = [p for t in TEXTS for p in predict([t])]
    assert len(together) == len(alone)
    for a, b in zip(together, alone):
        assert a.label == b.label and a.tree.labels() == b.tree.labels()
        assert torch.allclose(torch.tensor(a.probabilities), torch.tensor(b.probabilities), atol=1e-6)


def test_save_pretrained_load_model_round_trip(model_dir, tmp_path):
    import treernn
    from treernn.errors import ModelError
    from treernn.models import load_model

    model = treernn.load(model_dir).model
    cls = type(model)
    again_dir = tmp_path / "again"
    model.save_pretrained(again_dir)
    assert sorted(p.name for p in again_dir.iterdir()) == ["config.json", "model.safetensors", "vocab.json"]
    again = load_model(again_dir, kind=model.kind)
    assert type(again) is cls
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert [p.probabilities for p in treernn.load(again_dir)(TEXTS)] == \
        [p.probabilities for p in treernn.load(model_dir)(TEXTS)]
    other = "sequence" if model.kind == "tree" else "tree"
    with pytest.raises(ModelError, match="not a"):
        load_model(again_dir, kind=other)


def test_json_has_the_documented_fields(tree_model, capsys):
    import jsonschema

    from treernn.pipeline import JSON_FIELDS
    from treernn.resources import data_dir

    schema = json.loads(data_dir("classify.schema.json").read_text())
    code, out, _ = _classify(capsys, tree_model, "--format", "json", *TEXTS)
    assert code == 0
    names = ["Verynegative", "Negative", "Neutral", "Positive", "Verypositive"]  # as CoreNLP's JSON
    for line in out.splitlines():
        obj = json.loads(line)
        jsonschema.validate(obj, schema)
        assert set(obj) <= set(JSON_FIELDS) and "sentimentTree" in obj
        assert obj["sentiment"] == names[int(obj["sentimentValue"])]
        assert abs(sum(obj["sentimentDistribution"]) - 1) < 1e-3 and len(obj["sentimentDistribution"]) == 5
        assert obj["nodes"][-1]["span"] == [0, len(obj["tokens"])]  # post-order: the root last
        for node in obj["nodes"]:
            assert set(node) <= {"span", "sentimentValue", "sentiment", "sentimentDistribution", "token"}
            assert 0 <= node["span"][0] < node["span"][1] <= len(obj["tokens"])
            assert node["sentiment"] == names[int(node["sentimentValue"])]


def test_ptb_pretty_and_svg_output(tree_model, capsys, tmp_path):
    from treernn.trees import from_ptb

    code, out, _ = _classify(capsys, tree_model, "--format", "ptb", "A great movie.")
    assert code == 0
    tree = from_ptb(out.strip(), label_type=int)
    assert tree.tokens() == ["A", "great", "movie", "."] and all(0 <= x <= 4 for x in tree.labels())
    code, out, _ = _classify(capsys, tree_model, "A great movie.")  # pretty is the default
    assert out.startswith("# text 1, sentence 1: ") and "── 4 great" in out
    svg = tmp_path / "t.svg"
    code, out, _ = _classify(capsys, tree_model, "--format", "svg", "--out", svg, *TEXTS)
    assert code == 0 and out == ""
    root = ET.fromstring(svg.read_text())
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == sum(2 * len(t.split()) - 1 for t in ["The film was good .", "The plot was bad .",
                                                                "A great movie .", "An awful story !"])
    assert len({c.get("fill") for c in circles}) >= 3  # coloured by class


def test_ptb_text_is_taken_as_a_tree(tree_model):
    import treernn

    p = treernn.load(tree_model)(["(0 (2 a) (2 (2 great) (2 movie)))", "(Not) a tree, a sentence."])
    assert p[0].tree.tokens() == ["a", "great", "movie"] and p[0].tree.labels()[1] == 4  # text's labels ignored
    assert p[1].tokens[:3] == ["(", "Not", ")"]


@pytest.mark.parametrize("text", ["", "   \t "])
def test_empty_text_is_one_clear_error(tree_model, text, capsys):
    import treernn

    with pytest.raises(ParserError, match="empty text"):
        treernn.load(tree_model)([text])
    code, out, err = _classify(capsys, tree_model, "good", text, "bad")
    assert code == 2 and out.count("# text") == 2  # the other two texts are classified
    assert err.splitlines()[0] == "treernn: error: <arg 2>: empty text" and "Traceback" not in err


def test_single_word_long_sentence_and_other_languages(tree_model):
    import treernn

    predict = treernn.load(tree_model, max_tokens=None)
    one = predict(["good"])
    assert len(one) == 1 and one[0].tree.tokens() == ["good"] and len(one[0].probabilities) == 1
    long = predict([" ".join(["good", "film"] * 2500)])  # a 5,000-token text
    assert sum(len(p.tokens) for p in long) == 5000
    other = predict(["Der Film war überraschend gut.", "映画はとても良かった。"])
    assert len(other) >= 2 and all(p.label_name for p in other)


def test_stdin_streams_and_bad_lines_do_not_stop_it(tree_model, capsys, monkeypatch):
    stdin = b"A great movie.\n\n\xff\xfe\x00garbage\nAn awful\x00 story\nThe plot was bad.\n"
    code, out, err = _classify(capsys, tree_model, "--format", "json", "-", stdin=stdin, monkeypatch=monkeypatch)
    assert code == 2
    assert [json.loads(line)["text"] for line in out.splitlines()] == [0, 4]  # lines 1 and 5
    assert err.splitlines() == ["treernn: error: <stdin>:3: not UTF-8 (byte 0)",
                                "treernn: error: <stdin>:4: contains a NUL byte",
                                "treernn: 2 input(s) failed"]


def test_stream_is_lazy(tree_model):
    """Memory does not grow with the input: the first predictions come out after one chunk."""
    import treernn
    from treernn.pipeline import stream

    read = []

    def lines():
        for i in range(10_000):
            read.append(i)
            yield i + 1, f"<stdin>:{i + 1}", b"A great movie.\n"

    first = next(stream(treernn.load(tree_model), lines(), chunk=8))
    assert first.tokens == ["A", "great", "movie", "."] and len(read) == 8


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "vocab.json").unlink(), "vocab.json"),
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100]), "model.safetensors"),
    (None, "format version"),  # a directory written by another version of treernn
    (lambda d: (d / "weights.pkl").write_bytes(b"\x80\x04"), "pickle"),
])
def test_damaged_model_directory_one_line(tree_model, tmp_path, capsys, damage, message):
    import shutil

    d = tmp_path / "m"
    shutil.copytree(tree_model, d)
    if message == "format version":
        cfg = json.loads((d / "config.json").read_text())
        cfg["format_version"] = 99
        (d / "config.json").write_text(json.dumps(cfg))
    else:
        damage(d)
    code, out, err = _classify(capsys, d, "good")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    with pytest.raises(CheckpointError):
        import treernn

        treernn.load(d)


def test_whitespace_runs_are_not_tokens(tree_model, capsys):
    code, out, err = _classify(capsys, tree_model, "--format", "ptb", "A great  movie.\n\nThe plot\twas bad.\n\n", "   ")
    assert code == 2 and err.splitlines()[0] == "treernn: error: <arg 2>: empty text"
    assert [line.count("(") for line in out.splitlines()] == [7, 9]  # 4 and 5 tokens, binary trees


def test_over_long_text_is_refused_before_parsing(tree_model, capsys, monkeypatch):
    """A 200,000-word line (a million characters): one line on stderr, no parse, the stream goes on."""
    stdin = ("A great movie.\n" + " ".join(["good", "film"] * 100_000) + "\nThe plot was bad.\n").encode()
    code, out, err = _classify(capsys, tree_model, "--format", "json", "-", stdin=stdin, monkeypatch=monkeypatch)
    assert code == 2
    assert [json.loads(line)["text"] for line in out.splitlines()] == [0, 2]
    assert err.splitlines() == ["treernn: error: <stdin>:2: text of 999999 characters, over the limit of "
                                "100000 (--max-chars)", "treernn: 1 input(s) failed"]


def test_over_long_sentence_is_refused_and_the_rest_labeled(tree_model, capsys, monkeypatch):
    stdin = b"A great movie. " + b" ".join([b"good"] * 40) + b"\nThe plot was bad.\n"
    code, out, err = _classify(capsys, tree_model, "--format", "json", "--max-tokens", "12", "-",
                               stdin=stdin, monkeypatch=monkeypatch)
    assert code == 2
    lines = [json.loads(line) for line in out.splitlines()]
    assert (lines[0]["text"], lines[0]["tokens"]) == (0, ["A", "great", "movie", "."])  # its line's first sentence
    assert lines[-1]["text"] == 1 and all(len(obj["tokens"]) <= 12 for obj in lines)
    refused = err.splitlines()[:-1]
    assert refused and all(line.startswith("treernn: error: <stdin>:1: sentence of ") and
                           "tokens, over the limit of 12 (--max-tokens)" in line for line in refused)
    import treernn

    with pytest.raises(ParserError, match="over the limit of 12"):  # the API raises without refuse=
        treernn.load(tree_model, max_tokens=12)([" ".join(["good"] * 40)])
    refused_api = []
    kept = treernn.load(tree_model, max_tokens=12).predict(["Good. " + " ".join(["good"] * 40)],
                                                          refuse=lambda i, m: refused_api.append((i, m)))
    assert kept and refused_api and all(i == 0 for i, _ in refused_api)


def test_classify_dir_text_still_works_with_a_note(tree_model, capsys):
    capsys.readouterr()
    assert main(["classify", str(tree_model), "--format", "json", "A great movie."]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["tokens"] == ["A", "great", "movie", "."]
    assert out.err.startswith(f"treernn: note: read as `treernn classify --model {tree_model} ...`")
    # --model names the treernn model now; a spaCy pipeline there is pointed to its new option
    assert main(["classify", "--model", "en_core_web_sm", "good"]) == 2
    assert "--spacy-pipeline en_core_web_sm" in capsys.readouterr().err
