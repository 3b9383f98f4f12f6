"""Chinese all the way through (the founding example's language): the bracketed writer and
reader, the drawing, the SVG, JSON output, the vocabulary and vectors, and classify with a
model trained on ambiguity-zh."""

from __future__ import annotations

import json

import pytest

from treernn.cli import main
from treernn.parsing import CFGParser
from treernn.trees import draw, from_ptb, to_ptb, to_svg
from treernn.trees.render import FONTS
from treernn.vocab import Vocab, load_vectors, vector_file_info

PHRASE = "两个外语学院的学生"


@pytest.fixture(scope="module")
def parses():
    return CFGParser("zh").parse_each([PHRASE])[0]


def test_brackets_round_trip_chinese_tokens_and_labels(parses):
    for tree in parses:
        again = from_ptb(to_ptb(tree))
        assert to_ptb(again) == to_ptb(tree) and again.tokens() == list("两个") + ["外语", "学院", "的", "学生"]
    odd = from_ptb("(名词短语 (量词 两个) (名词 学生))")
    assert odd.label == "名词短语" and odd.tokens() == ["两个", "学生"] and to_ptb(odd) == "(名词短语 (量词 两个) (名词 学生))"


def test_draw_and_svg_show_chinese(parses):
    drawn = draw(parses[0])
    assert "├── Num 两" in drawn and "└── Np 学生" in drawn
    svg = to_svg(parses, titles=["两个外语学院 的 学生", "两个 外语学院的学生"])
    assert f'font-family="{FONTS}"' in svg and "Noto Sans CJK SC" in FONTS and "Microsoft YaHei" in FONTS
    assert ">学院</text>" in svg and "&#" not in svg  # characters, not references
    narrow = to_svg([from_ptb("(X (A a) (B b))")])
    wide = to_svg([from_ptb("(X (A 中华人民共和国) (B 中华人民共和国))")])
    width = lambda s: int(s.split('width="')[1].split('"')[0])  # noqa: E731
    assert width(wide) > width(narrow)  # a long word of wide characters gets a wider slot


def test_parse_json_and_svg_keep_the_characters(capsys):
    assert main(["parse", "--parser", "cfg", "--grammar", "zh", "--format", "json", PHRASE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "两" in lines[0] and "\\u" not in lines[0]
    assert json.loads(lines[0])["tree"] == 0
    assert main(["parse", "--parser", "cfg", "--grammar", "zh", "--format", "svg", PHRASE]) == 0
    svg = capsys.readouterr().out
    assert svg.startswith("<svg") and svg.count("tree 1 of 2") == 1 and svg.count("tree 2 of 2") == 1


def test_the_vocabulary_keeps_chinese_words_and_reads_chinese_vectors(tmp_path):
    vocab = Vocab.build([["两", "个", "外语", "学院"], ["Apple", "学院"]], lowercase=True)
    assert vocab.encode(["学院", "外语", "Apple"]) == [vocab.lookup("学院"), vocab.lookup("外语"), vocab.lookup("apple")]
    assert len({vocab.lookup(w) for w in ("两", "个", "外语", "学院", "apple")}) == 5 and "学院" in vocab
    vectors = tmp_path / "zh.txt"
    vectors.write_text("学院 0.1 0.2\n外语 0.3 0.4\n两 0.5 0.6\n", encoding="utf-8")
    info = vector_file_info(vectors)
    assert info.dim == 2 and info.lowercase_only  # no cased letters: nothing to lowercase
    table, coverage = load_vectors(str(vectors), vocab, 2)
    assert coverage.found == 3 and table[vocab.lookup("外语")].tolist() == pytest.approx([0.3, 0.4])


@pytest.fixture(scope="module")
def zh_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh") / "tree"
    assert main(["train", "--model", "tree-lstm", "--corpus", "ambiguity-zh", "--epochs", "2", "--device", "cpu",
                 "--out", str(out), "--trainer.progress", "false", "--trainer.optimizer", "adam",
                 "--trainer.lr", "0.01", "--model.input_dim", "50", "--model.hidden_dim", "50"]) == 0
    return out


def test_classify_a_model_trained_on_ambiguity_zh(zh_model, capsys):
    assert "学院" in (zh_model / "vocab.json").read_text(encoding="utf-8")  # written as characters
    capsys.readouterr()
    code = main(["classify", "--model", str(zh_model), "--grammar", "zh", "--format", "json",
                 PHRASE, "两所外语学院的学生", "两个猫"])
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 2 and "\\u" not in captured.out
    assert [(r["text"], r["index"], r["label"]) for r in rows] == [(0, 0, "institutions"), (0, 1, "people"),
                                                                   (1, 0, "institutions")]
    assert rows[0]["tokens"] == ["两", "个", "外语", "学院", "的", "学生"]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and "character '猫' at position 3" in errors[0]
    # a bracketed tree is read as it is, Chinese labels and all
    assert main(["classify", "--model", str(zh_model), "--format", "ptb",
                 "(NP (QP (Num 两) (Clf 个)) (NOM (N 学生)))"]) == 0
    assert "两" in capsys.readouterr().out


def test_quantified_span_is_what_the_numeral_counts_under_each_parse():
    from treernn.parsing import CFGParser, quantified_span
    from treernn.trees import binarize, from_ptb

    trees = CFGParser("zh").parse_each(["两个外语学院的学生"])[0]
    counted = sorted("".join(t.tokens()[slice(*quantified_span(t))]) for t in trees)
    assert counted == ["外语学院", "外语学院的学生"]
    for tree in trees:  # binarized: the unlabeled nodes are looked through, the span is the same
        assert quantified_span(binarize(tree)) == quantified_span(tree)
    assert quantified_span(from_ptb("(S (NP a) (VP b))")) is None
