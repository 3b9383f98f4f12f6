"""Parsers: spaCy dependency, NLTK CFG chart, PTB strings; one interface."""

from __future__ import annotations

import pytest

from treernn.errors import ParserError, TreeSyntaxError
from treernn.parsing import CFGParser, PTBParser, SpacyParser, get_parser
from treernn.trees import to_ptb

from conftest import GRAMMARS

TELESCOPE = "I saw the man with the telescope"


def test_cfg_returns_every_parse_of_an_ambiguous_sentence():
    parser = CFGParser(GRAMMARS / "telescope.cfg")
    trees = parser.parse([TELESCOPE])
    assert len(trees) == 2
    got = sorted(to_ptb(t) for t in trees)
    assert got == sorted([
        "(S (NP I) (VP (VP (V saw) (NP (Det the) (N man))) (PP (P with) (NP (Det the) (N telescope)))))",
        "(S (NP I) (VP (V saw) (NP (NP (Det the) (N man)) (PP (P with) (NP (Det the) (N telescope))))))",
    ])
    assert all(t.tokens() == TELESCOPE.split() for t in trees)
    # grouping per text, token lists accepted, max_parses
    assert [len(g) for g in parser.parse_each([TELESCOPE, "she saw a dog"])] == [2, 1]
    assert len(parser.parse([TELESCOPE.split()])) == 2
    assert len(CFGParser(GRAMMARS / "telescope.cfg", max_parses=1).parse([TELESCOPE])) == 1


def test_cfg_from_string_and_errors():
    parser = CFGParser("S -> 'a' S | 'a'")
    assert to_ptb(parser.parse(["a a"])[0]) == "(S a (S a))"
    with pytest.raises(ParserError, match="no rule for 'b'"):
        parser.parse(["a b"])
    with pytest.raises(ParserError, match="grammar file not found"):
        CFGParser("no/such/grammar.cfg")
    with pytest.raises(ParserError, match="cannot read grammar"):
        CFGParser("S -> -> x")
    with pytest.raises(ParserError, match="no parse"):
        CFGParser(GRAMMARS / "telescope.cfg").parse(["the man I saw"])


def test_spacy_parser_raw_and_pretokenized(nlp):
    parser = SpacyParser(nlp=nlp)
    groups = parser.parse_each(["It rains. We stay inside!", ["Pre", "-", "tokenized", "text", "."]])
    assert [len(g) for g in groups] == [2, 1]
    assert groups[1][0].tokens() == ["Pre", "-", "tokenized", "text", "."]
    flat = parser.parse(["It rains. We stay inside!"])
    assert [t.tokens() for t in flat] == [["It", "rains", "."], ["We", "stay", "inside", "!"]]
    one = SpacyParser(nlp=nlp, one_tree_per_text=True).parse(["It rains. We stay inside!"])
    assert len(one) == 1 and len(one[0]) == 7


@pytest.mark.parametrize("bad, msg", [("", "empty text"), ("   ", "empty text"), ([], "empty token list"),
                                      (["a b"], "whitespace"), (3, "must be a string")])
def test_spacy_parser_bad_texts(nlp, bad, msg):
    with pytest.raises(ParserError, match=msg):
        SpacyParser(nlp=nlp).parse([bad])


def test_unknown_spacy_model():
    with pytest.raises(ParserError, match="'no_such_model' is not installed"):
        SpacyParser(model="no_such_model")


def test_ptb_parser_and_registry():
    parser = get_parser("ptb", label_type=int)
    assert parser.parse(["(3 (2 a) (4 b))"])[0].label == 3
    with pytest.raises(TreeSyntaxError, match="<text 0>:1:1"):
        PTBParser().parse(["(3 (2 a)"])
    with pytest.raises(ParserError, match="unknown parser 'x'; known: spacy, cfg, ptb"):
        get_parser("x")
    with pytest.raises(ParserError, match="--grammar"):
        get_parser("cfg")


def test_spacy_parser_keeps_tokens_with_a_no_break_space(nlp):
    # three SST sentences have tokens such as "8\xa01/2"; only ASCII whitespace is refused
    tree = SpacyParser(nlp=nlp, one_tree_per_text=True).parse([["It", "took", "8\xa01/2", "hours", "."]])[0]
    assert tree.tokens() == ["It", "took", "8\xa01/2", "hours", "."]
