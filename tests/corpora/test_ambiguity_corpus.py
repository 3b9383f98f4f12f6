"""The structural-ambiguity corpora (corpora/ambiguity) and their generator script."""

from __future__ import annotations

import importlib.util
import sys

import nltk
import pytest

from treernn.corpora import read_labeled_trees
from treernn.parsing import CFGParser
from treernn.trees import Tree, binarize, to_ptb

from conftest import GRAMMARS, ROOT

CORPUS = ROOT / "corpora" / "ambiguity"
SCRIPT = ROOT / "scripts" / "make_ambiguity_corpus.py"
SPLITS = {"arith": ["train", "dev", "test", "test_long"], "attach": ["train", "dev", "test"],
          "zh": ["train", "dev", "test"]}
CATALAN = {1: 1, 2: 2, 3: 5, 4: 14, 5: 42, 6: 132}


@pytest.fixture(scope="module")
def gen():
    """The generator script, imported as a module."""
    spec = importlib.util.spec_from_file_location("make_ambiguity_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(gen, tmp_path_factory):
    """(output directory, sentences) of a fresh run with the default seed."""
    out = tmp_path_factory.mktemp("ambiguity")
    return out, gen.generate(out, seed=0)


@pytest.fixture(scope="module")
def corpus():
    """{(corpus, split): (items, meta rows)} of the committed files."""
    out = {}
    for name, splits in SPLITS.items():
        for split in splits:
            items = read_labeled_trees(CORPUS / name / f"{split}.tsv").items
            meta = [tuple(map(int, line.split("\t"))) for line in
                    (CORPUS / name / f"{split}.meta.tsv").read_text(encoding="utf-8").splitlines()]
            out[name, split] = items, meta
    return out


def sentences(items, meta):
    """{sentence id: (tokens, [labels], parses, distinct labels)} from items and meta rows."""
    groups: dict[int, tuple] = {}
    for (label, tree), (sid, parses, n_labels) in zip(items, meta):
        tokens, labels, _, _ = groups.setdefault(sid, (tuple(tree.tokens()), [], parses, n_labels))
        assert tuple(tree.tokens()) == tokens
        labels.append(label)
    return groups


# ---------------------------------------------------------------------------- the files
def test_regeneration_is_byte_identical_to_the_committed_files(generated):
    out, _ = generated
    made = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*")
                       if p.is_file() and p.name not in ("README.md", "__init__.py") and "__pycache__" not in p.parts)
    assert made == committed
    for rel in made:
        assert (out / rel).read_bytes() == (CORPUS / rel).read_bytes(), rel


def test_readme_quotes_the_generated_sizes(gen, generated):
    _, corpora = generated
    assert gen.stats_table(corpora) in (CORPUS / "README.md").read_text(encoding="utf-8")


def test_every_line_reads_and_has_a_meta_line(corpus):
    for (name, split), (items, meta) in corpus.items():
        assert items, (name, split)
        assert len(meta) == len(items), (name, split)
        ids = [row[0] for row in meta]
        assert ids == sorted(ids) and ids[0] == 0  # a sentence's parses are adjacent
        assert len(set(ids)) == ids[-1] + 1


def test_splits_share_no_sentence(corpus):
    for name, splits in SPLITS.items():
        seen: dict[tuple, str] = {}
        for split in splits:
            for tokens in {tuple(t.tokens()) for _, t in corpus[name, split][0]}:
                assert tokens not in seen, f"{' '.join(tokens)!r} in {seen.get(tokens)} and {split}"
                seen[tokens] = split


def test_meta_counts_match_the_parses(corpus, gen):
    for (name, split), (items, meta) in corpus.items():
        for sid, (tokens, labels, parses, n_labels) in sentences(items, meta).items():
            if split == "test_long":
                assert len(labels) == min(parses, gen.LONG_MAX_PARSES)
                assert len(set(labels)) <= n_labels
            else:
                assert len(labels) == parses
                assert len(set(labels)) == n_labels
            if name == "arith":
                assert parses == CATALAN[len(tokens) // 2]


# -------------------------------------------------------------------------------- arith
NUMBERS = dict(zip("zero one two three four five six seven eight nine".split(), range(10)))


def evaluate(tree: Tree) -> int:
    """A reference evaluator: recursive; unlabeled nodes (from binarize) are spliced away."""

    def items(node: Tree) -> list:
        if node.is_leaf:
            return [node.token]
        out = []
        for child in node.children:
            out += items(child) if child.label is None else [value(child)]
        return out

    def value(node: Tree):
        if node.is_leaf:
            return NUMBERS[node.token] if node.token in NUMBERS else node.token
        parts = items(node)
        if len(parts) == 1:
            return parts[0]
        left, op, right = parts
        return {"plus": left + right, "minus": left - right, "times": left * right}[op]

    return value(tree)


def test_arith_labels_are_the_value_mod_10_also_after_binarize(corpus):
    for split in SPLITS["arith"]:
        for label, tree in corpus["arith", split][0]:
            value = evaluate(tree)
            assert label == str(value % 10)
            assert 0 <= int(label) <= 9
            binary = binarize(tree)
            assert binary.is_binary()
            assert evaluate(binary) == value


def test_two_plus_three_times_four_has_two_parses_labeled_0_and_4(gen):
    parses = CFGParser(GRAMMARS / "arith.cfg").parse_each(["two plus three times four"])[0]
    assert sorted(gen.arith_label(t) for t in parses) == ["0", "4"]
    assert sorted(evaluate(t) for t in parses) == [14, 20]
    assert evaluate(Tree.leaf("two", "NUM")) == 2
    assert gen.arith_label(CFGParser(GRAMMARS / "arith.cfg").parse(["two minus nine"])[0]) == "3"


def test_arith_operator_counts(corpus):
    for split in SPLITS["arith"]:
        ops = {len(t.tokens()) // 2 for _, t in corpus["arith", split][0]}
        assert ops == ({5, 6} if split == "test_long" else {1, 2, 3, 4}), split


# ------------------------------------------------------------------------------- attach
def reference_attach_label(tree: Tree) -> str:
    """What the PP attaches to or what the number counts, read with nltk tree positions."""
    t = nltk.Tree.fromstring(to_ptb(tree))
    for pos in t.treepositions():
        node = t[pos]
        if isinstance(node, nltk.Tree) and node.label() in ("PP", "Num"):
            parent = t[pos[:-1]].label()
            return {("PP", "VP"): "verb", ("PP", "NP"): "noun",
                    ("Num", "NP"): "head", ("Num", "QNP"): "modifier"}[node.label(), parent]
    raise AssertionError(to_ptb(tree))


def test_attach_labels_read_off_each_tree_also_after_binarize(corpus, gen):
    for split in SPLITS["attach"]:
        items, meta = corpus["attach", split]
        for label, tree in items:
            assert label == reference_attach_label(tree)
            binary = binarize(tree)
            assert binary.is_binary()
            assert gen.attach_label(binary) == label
        for tokens, labels, parses, n_labels in sentences(items, meta).values():
            assert parses in (1, 2)
            if parses == 2:  # each reading is exactly one tree
                assert sorted(labels) in (["noun", "verb"], ["head", "modifier"])


def test_she_saw_the_man_with_the_telescope(gen):
    cache = gen.ParseCache(GRAMMARS / "attach.cfg")
    trees = cache.parses("she saw the man with the telescope".split())
    assert sorted(gen.attach_label(t) for t in trees) == ["noun", "verb"]
    two = cache.parses("she met two language school students".split())
    assert sorted(gen.attach_label(t) for t in two) == ["head", "modifier"]
    assert [gen.attach_label(t) for t in cache.parses("she saw him with the hat".split())] == ["verb"]


# ------------------------------------------------------------------------------------ zh
def test_the_founding_phrase_has_two_parses_and_two_meanings(gen):
    parser = CFGParser("zh")
    for text in ("两个外语学院的学生", "两 个 外语 学院 的 学生", "两个 外语学院的 学生"):
        trees = parser.parse_each([text])[0]
        assert len(trees) == 2 and all(t.tokens() == ["两", "个", "外语", "学院", "的", "学生"] for t in trees)
        assert sorted(gen.zh_label(t) for t in trees) == ["institutions", "people"]
    institutions, people = sorted(parser.parse_each(["两个外语学院的学生"])[0], key=gen.zh_label)
    # institutions: the quantifier phrase is 两个外语学院; people: it spans the whole phrase
    assert to_ptb(institutions).startswith("(NP (NOM (NOMP (DNP (NP (QP (Num 两) (Clf 个)) (NOM")
    assert to_ptb(people).startswith("(NP (QP (Num 两) (Clf 个)) (NOM (NOMP (DNP (NP (NOM")
    assert [gen.zh_label(t) for t in parser.parse_each(["三所医学学院的老师"])[0]] == ["institutions"]
    assert [gen.zh_label(t) for t in parser.parse_each(["五名法律大学的代表"])[0]] == ["people"]
    assert [gen.zh_label(t) for t in parser.parse_each(["十个历史学者"])[0]] == ["people"]


def test_zh_labels_read_off_each_tree_also_after_binarize(corpus, gen):
    for split in SPLITS["zh"]:
        items, meta = corpus["zh", split]
        for label, tree in items:
            assert gen.zh_label(binarize(tree)) == label
        for tokens, labels, parses, n_labels in sentences(items, meta).values():
            assert parses in (1, 2)
            assert (parses == 2) == (tokens[1] == "个" and "的" in tokens)  # 个 ... 的: ambiguous
            if parses == 2:
                assert sorted(labels) == ["institutions", "people"]


def test_zh_test_phrases_have_unseen_noun_combinations(corpus, gen):
    nouns = set(gen.ZH_FIELDS) | set(gen.ZH_INSTITUTIONS) | set(gen.ZH_PEOPLE)

    def combos(split):
        return {tuple(w for w in t.tokens() if w in nouns) for _, t in corpus["zh", split][0]}

    seen = combos("train") | combos("dev")
    assert combos("test") and not combos("test") & seen
    train_words = {w for _, t in corpus["zh", "train"][0] for w in t.tokens()}
    assert {w for _, t in corpus["zh", "test"][0] for w in t.tokens()} <= train_words


def test_unspaced_zh_segments_back_into_the_corpus_tokens(corpus):
    parser = CFGParser("zh")
    for split in SPLITS["zh"]:
        for _, tree in corpus["zh", split][0]:
            assert parser.segment("".join(tree.tokens())) == tree.tokens()


@pytest.mark.parametrize("text, message", [
    ("两个外语学院的学生。", "character '。' at position 10"),
    ("两个student的学生", "character 's' at position 3"),
    ("两个猫的学生", "character '猫' at position 3"),
    ("两个外语学院的学生 and", "has no rule for 'and'"),
    ("  ", "empty text"),
])
def test_zh_bad_input_is_one_line(text, message, capsys):
    from treernn.cli import main

    assert main(["parse", "--parser", "cfg", "--grammar", "zh", text]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[0] and len(err) == 2 and err[1] == "treernn: 1 input(s) failed", err


def test_a_grammar_file_with_a_syntax_error_or_bad_bytes_is_one_line(tmp_path, capsys):
    from treernn.cli import main

    bad = tmp_path / "bad.cfg"
    bad.write_text("NP -> QP NOM |\nQP -> '两\n", encoding="utf-8")
    latin = tmp_path / "latin.cfg"
    latin.write_bytes("NP -> 'caf\xe9'\n".encode("latin-1"))
    for path, message in ((bad, "cannot read grammar"), (latin, "cannot read grammar file")):
        assert main(["parse", "--parser", "cfg", "--grammar", str(path), "两"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


# ------------------------------------------------------------------------------ the cache
def test_parse_cache_equals_parsing_each_sentence(corpus, gen):
    """Relexicalized parses of a shared part-of-speech pattern equal a direct chart parse."""
    for name in SPLITS:
        cache = gen.ParseCache(GRAMMARS / f"{name}.cfg")
        direct = CFGParser(GRAMMARS / f"{name}.cfg")
        items = corpus[name, "dev"][0]
        sample = list(dict.fromkeys(tuple(t.tokens()) for _, t in items))[:40]
        for tokens in sample:
            want = sorted(to_ptb(t) for t in direct.parse_each([list(tokens)])[0])
            assert sorted(to_ptb(t) for t in cache.parses(tokens)) == want


def test_parse_cache_rejects_a_grammar_with_shared_words(gen, tmp_path):
    grammar = tmp_path / "g.cfg"
    grammar.write_text("S -> A B\nA -> 'x'\nB -> 'x'\n")
    with pytest.raises(ValueError, match="exactly one rule"):
        gen.ParseCache(grammar)
