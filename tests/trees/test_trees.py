"""Tree type, bracketed reader/writer, conversions and transforms."""

from __future__ import annotations

import subprocess
import sys

import nltk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treernn.errors import TreeStructureError, TreeSyntaxError
from treernn.trees import (
    Tree,
    balanced_tree,
    binarize,
    collapse_unary,
    dependency_to_phrase,
    draw,
    from_nltk,
    from_ptb,
    from_spacy,
    iter_ptb,
    left_branching_tree,
    right_branching_tree,
    to_nltk,
    to_ptb,
    unescape_token,
)

SST_LINE = "(3 (2 The) (4 (3 gorgeously) (3 (2 elaborate) (2 continuation))))"


def test_sst_tree_reads_with_int_labels_and_writes_back():
    tree = from_ptb(SST_LINE, label_type=int)
    assert tree.label == 3 and tree.children[0].label == 2
    assert tree.tokens() == ["The", "gorgeously", "elaborate", "continuation"]
    assert to_ptb(tree) == SST_LINE
    assert tree.is_binary()


def test_postorder_heights_spans():
    tree = from_ptb(SST_LINE, label_type=int)
    order = tree.postorder()
    assert order[-1] is tree
    assert [n.token for n in order if n.token] == tree.tokens()
    assert tree.heights() == [0, 0, 0, 0, 1, 2, 3]
    assert tree.spans() == [(0, 1), (1, 2), (2, 3), (3, 4), (2, 4), (1, 4), (0, 4)]
    # every child comes before its parent
    pos = {id(n): i for i, n in enumerate(order)}
    assert all(pos[id(c)] < pos[id(n)] for n in order for c in n.children)


def test_ptb_unlabeled_outer_bracket_and_bare_tokens():
    tree = from_ptb("( (S (NP (DT the) (NN man)) (VP slept)))")
    assert tree.label is None and tree.children[0].label == "S"
    vp = tree.children[0].children[1]
    assert vp.label == "VP" and vp.is_leaf and vp.token == "slept"
    mixed = from_ptb("(NP the (JJ big) dog)")
    assert [c.label for c in mixed.children] == [None, "JJ", None]
    assert to_ptb(mixed) == "(NP the (JJ big) dog)"


def test_escapes_kept_by_default_undone_on_request():
    text = r"(2 (2 -LRB-) (2 a\/b) (2 \*) (2 -RRB-))"
    assert from_ptb(text).tokens() == ["-LRB-", r"a\/b", r"\*", "-RRB-"]
    plain = from_ptb(text, unescape=True)
    assert plain.tokens() == ["(", "a/b", "*", ")"]
    # the writer re-escapes brackets so the output can be read again
    assert from_ptb(to_ptb(plain)).tokens() == ["-LRB-", "a/b", "*", "-RRB-"]
    assert unescape_token("-LCB-x-RCB-") == "{x}"


@pytest.mark.parametrize(
    "text, where, reason",
    [
        ("(3 (2 The) (2 Rock)", (1, 1), "unclosed"),
        ("(3 (2 The)) (2 x))", (1, 13), "text after"),
        ("(3 (2 The)))", (1, 12), "unexpected ')'"),
        ("(3 ()) ", (1, 4), "empty brackets"),
        ("(3 (2))", (1, 4), "no children"),
        ("(3 (x The))", (1, 5), "not a valid int"),
        ("\n  (3\n (2 The) (two Rock))", (3, 11), "not a valid int"),
        ("", (1, 1), "empty input"),
        ("(3 (2 a\x00))", (1, 8), "NUL"),
    ],
)
def test_bad_brackets_name_line_and_column(text, where, reason):
    with pytest.raises(TreeSyntaxError) as info:
        from_ptb(text, source="f.txt", label_type=int)
    err = info.value
    assert (err.line, err.column) == where, str(err)
    assert reason in str(err)
    assert str(err).startswith(f"f.txt:{where[0]}:{where[1]}: ")
    assert "\n" not in str(err)


def test_iter_ptb_reads_multiline_trees():
    trees = list(iter_ptb("(S\n  (NP a)\n  (VP b))\n\n(S (NP c) (VP d))\n"))
    assert [t.tokens() for t in trees] == [["a", "b"], ["c", "d"]]


# ---------------------------------------------------------------- property-based round trips
_atom = st.text(alphabet="abcXYZ019.,'`-$&/*\\", min_size=1, max_size=5)
_label = st.one_of(st.none(), st.integers(0, 4), _atom)


@st.composite
def _trees(draw_, depth=0):
    label = draw_(_label)
    if depth >= 4 or draw_(st.booleans()):
        return Tree(label, token=draw_(_atom))
    kids = draw_(st.lists(_trees(depth=depth + 1), min_size=1, max_size=3))
    if len(kids) == 1 and kids[0].is_leaf and kids[0].label is None and label is not None:
        kids[0].label = "X"  # "(L w)" is by definition a labeled leaf, not L over a bare leaf
    return Tree(label, kids)


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_ptb_round_trip_property(tree):
    text = to_ptb(tree)
    back = from_ptb(text)
    assert back == tree.map(label=lambda x: None if x is None else str(x))
    assert to_ptb(back) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="() ab1\n\t", max_size=40))
def test_reader_never_raises_anything_but_its_own_error(text):
    try:
        trees = list(iter_ptb(text))
    except TreeSyntaxError:
        return
    for tree in trees:  # what it reads, it writes back losslessly
        assert list(iter_ptb(to_ptb(tree))) == [tree]


def test_deep_trees_have_no_recursion_limit():
    tokens = [f"w{i}" for i in range(5000)]
    for tree in (right_branching_tree(tokens), left_branching_tree(tokens)):
        assert tree.height() == 4999
        back = from_ptb(to_ptb(tree))
        assert back == tree and back.tokens() == tokens
        assert binarize(back) == tree and collapse_unary(back) == tree
        assert Tree.from_dict(tree.to_dict()) == tree
        assert from_nltk(to_nltk(tree.map(label=lambda _: "X"))).tokens() == tokens
        assert len(draw(tree).splitlines()) == 9999


def test_unlabeled_nodes_round_trip():
    tree = right_branching_tree(["a", "b", "c"])
    assert to_ptb(tree) == "( a ( b c))"
    assert from_ptb("( a ( b c))") == tree
    assert from_ptb("(a (b c))") == Tree("a", [Tree("b", token="c")])


def test_dict_round_trip_keeps_index():
    tree = Tree("ROOT", [Tree("nsubj", token="I", index=0)], token="ran", index=1)
    assert Tree.from_dict(tree.to_dict()) == tree
    with pytest.raises(TreeStructureError):
        Tree.from_dict({"label": 1, "children": ["x"]})


def test_leaf_needs_token():
    with pytest.raises(TreeStructureError, match="leaf needs a token"):
        Tree(3)


# ---------------------------------------------------------------- nltk
def test_nltk_round_trip():
    nt = nltk.Tree.fromstring("(S (NP (DT the) (NN dog)) (VP (VBD barked)) (. .))")
    tree = from_nltk(nt)
    assert tree.tokens() == ["the", "dog", "barked", "."]
    assert tree.children[0].children[1].label == "NN"
    assert to_nltk(tree) == nt
    assert to_ptb(tree) == "(S (NP (DT the) (NN dog)) (VBD barked) (. .))".replace(
        "(VBD barked)", "(VP (VBD barked))"
    )
    sst = from_ptb(SST_LINE, label_type=int)
    assert from_nltk(to_nltk(sst)) == sst.map(label=str)


# ---------------------------------------------------------------- transforms
def test_binarize_right_and_left():
    tree = from_ptb("(S (A a) (B b) (C c) (D d))")
    right = binarize(tree)
    assert to_ptb(right) == "(S (A a) ( (B b) ( (C c) (D d))))"
    left = binarize(tree, factor="left")
    assert to_ptb(left) == "(S ( ( (A a) (B b)) (C c)) (D d))"
    assert right.is_binary() and left.is_binary()
    assert right.tokens() == left.tokens() == tree.tokens()
    assert to_ptb(tree) == "(S (A a) (B b) (C c) (D d))"  # input unchanged


def test_collapse_unary_keeps_top_or_bottom():
    tree = from_ptb("(S (NP (NN dogs)) (VP (VP (VBP bark) (ADVP (RB loudly)))))")
    assert to_ptb(collapse_unary(tree)) == "(S (NP dogs) (VP (VBP bark) (ADVP loudly)))"
    assert to_ptb(collapse_unary(tree, keep="bottom")) == "(S (NN dogs) (VP (VBP bark) (RB loudly)))"
    assert binarize(tree).is_binary()


def test_data_independent_trees():
    toks = ["a", "b", "c", "d", "e"]
    assert to_ptb(balanced_tree(toks)) == "( ( ( a b) c) ( d e))"
    assert to_ptb(left_branching_tree(toks)) == "( ( ( ( a b) c) d) e)"
    assert to_ptb(right_branching_tree(toks)) == "( a ( b ( c ( d e))))"
    assert balanced_tree(["x"]).is_leaf
    for build in (balanced_tree, left_branching_tree, right_branching_tree):
        assert build(toks).tokens() == toks and build(toks).is_binary()
        with pytest.raises(TreeStructureError, match="empty"):
            build([])


def _dep_tree():
    # "the big dog barked loudly": barked <- dog <- (the, big); barked -> loudly
    dog = Tree("nsubj", [Tree("det", token="the", index=0), Tree("amod", token="big", index=1)],
               token="dog", index=2)
    return Tree("ROOT", [dog, Tree("advmod", token="loudly", index=4)], token="barked", index=3)


def test_dependency_tree_order_and_ptb():
    dep = _dep_tree()
    assert dep.tokens() == ["the", "big", "dog", "barked", "loudly"]
    assert to_ptb(dep) == "(ROOT (nsubj (det the) (amod big) dog) barked (advmod loudly))"
    assert dep.spans()[-1] == (0, 5)


def test_dependency_to_phrase_is_binary_in_sentence_order():
    phrase = dependency_to_phrase(_dep_tree())
    assert phrase.is_binary()
    assert phrase.tokens() == ["the", "big", "dog", "barked", "loudly"]
    assert to_ptb(phrase) == "(ROOT (nsubj (det the) ( (amod big) dog)) ( barked (advmod loudly)))"
    with pytest.raises(TreeStructureError, match="dependency_to_phrase"):
        binarize(_dep_tree())


# ---------------------------------------------------------------- spaCy
def test_spacy_doc_to_trees(nlp):
    doc = nlp("The dog barked at the mailman. It was loud.")
    trees = from_spacy(doc)
    assert len(trees) == 2
    first = trees[0]
    assert first.tokens() == ["The", "dog", "barked", "at", "the", "mailman", "."]
    spacy_root = [t for t in next(doc.sents) if t.head.i == t.i][0]
    assert first.label == "ROOT" and first.token == spacy_root.text
    assert len(first) == 7  # a node per token
    for node in first.postorder():  # children in sentence order
        idx = [c.index for c in node.children]
        assert idx == sorted(idx)
    assert trees[1].tokens() == ["It", "was", "loud", "."]
    phrase = dependency_to_phrase(first)
    assert phrase.is_binary() and phrase.tokens() == first.tokens()


def test_spacy_without_parse_is_refused(nlp):
    with pytest.raises(TreeStructureError, match="parser"):
        from_spacy(nlp.make_doc("no parse here"))


def test_import_trees_is_light():
    code = "import treernn, treernn.trees, sys; print(sorted(m for m in ('torch','dgl','spacy','nltk') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_ascii_whitespace_separates_tokens():
    # SST has tokens such as "8\xa01\/2" (a no-break space inside one token)
    tree = from_ptb("(2 (2 8\xa01\\/2) (2 hours))", label_type=int)
    assert tree.tokens() == ["8\xa01\\/2", "hours"]
    assert from_ptb(to_ptb(tree), label_type=int) == tree


def test_drop_tokens_lifts_dependents_and_renumbers():
    from treernn.trees import Tree, drop_tokens, from_ptb

    space = lambda t: not t.strip()  # noqa: E731
    # dependency tree "saw(I, \n\n(film), .)": the space token heads 'film'
    film = Tree("dobj", token="film", index=2)
    gap = Tree("dep", [film], token="\n\n", index=1)
    root = Tree("ROOT", [Tree("nsubj", token="I", index=0), gap, Tree("punct", token=".", index=3)],
                token="saw", index=4)
    out = drop_tokens(root, space)
    assert out.tokens() == ["I", "film", ".", "saw"] and [n.index for n in out.token_nodes()] == [0, 1, 2, 3]
    assert [c.token for c in out.children] == ["I", "film", "."]
    assert root.children[1] is gap  # the input is not changed
    # phrase structure: an emptied phrase goes too
    tree = from_ptb("(S (NP (A _)) (VP (V runs)))")
    assert drop_tokens(tree, lambda t: t == "_").tokens() == ["runs"]
    assert drop_tokens(from_ptb("(S (A _))"), lambda t: t == "_") is None
    # a dropped root with several dependents: the first heads the others
    lone = Tree("ROOT", [Tree("a", token="x", index=0), Tree("b", token="y", index=2)], token=" ", index=1)
    out = drop_tokens(lone, space)
    assert out.token == "x" and [c.token for c in out.children] == ["y"] and out.tokens() == ["x", "y"]
