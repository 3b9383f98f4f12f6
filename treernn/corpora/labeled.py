"""Labeled trees in a TSV file: a sentence-level label and a bracketed tree per line.

Format (UTF-8, one item per line)::

    positive<TAB>(S (NP (DT the) (NN film)) (VP (VBZ works)))
    negative<TAB>(S (NP (PRP it)) (VP (VBZ drags)))

- the label is everything before the first TAB (a non-empty string, read back as ``str``);
- the tree is everything after it, in the bracketed form of :mod:`treernn.trees.ptb`;
- trailing blank lines are ignored; a blank line anywhere else is a bad line.

Errors name ``file:line:column``; columns count characters of the whole line, so a bracket
error in the tree is reported at its true column (label width + 1 + column in the tree).

Pure Python: no torch, DGL or spaCy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Optional

from treernn.corpora.files import PathArg, ReadResult, parse_tree_line, read_lines
from treernn.errors import CorpusError, TreeSyntaxError
from treernn.trees.ptb import to_ptb
from treernn.trees.tree import Label, Tree


class LabeledTree(NamedTuple):
    """One item of a labeled-tree file: a label (``str``) and a tree."""

    label: str
    tree: Tree


def parse_labeled_line(
    line: str,
    source: str = "<string>",
    lineno: int = 1,
    label_type: Optional[Callable[[str], Label]] = None,
    unescape: bool = False,
) -> LabeledTree:
    """One ``label<TAB>(tree)`` line as a :class:`LabeledTree`.

    Args:
        line: the line, without its line end.
        source, lineno: where the line comes from, for messages.
        label_type: applied to the node labels inside the tree (None keeps strings).
        unescape: undo PTB token escapes in the tree.

    Raises:
        TreeSyntaxError: no TAB, an empty label, or a bad tree; the column is that of the
            whole line.
    """
    tab = line.find("\t")
    if tab < 0:
        raise TreeSyntaxError(
            "no TAB: expected 'label<TAB>(tree)'", source, lineno, len(line) + 1
        )
    label = line[:tab]
    if not label.strip():
        raise TreeSyntaxError("empty label before the TAB", source, lineno, 1)
    try:
        tree = parse_tree_line(line[tab + 1:], source, lineno, label_type, unescape)
    except TreeSyntaxError as err:
        # from_ptb counts columns from the start of the tree part; shift past 'label<TAB>'.
        raise TreeSyntaxError(err.reason, source, err.line, err.column + tab + 1) from None
    return LabeledTree(label, tree)


def read_labeled_trees(
    path: PathArg,
    skip_bad: bool = False,
    label_type: Optional[Callable[[str], Label]] = None,
    unescape: bool = False,
) -> ReadResult[LabeledTree]:
    """The ``(label, tree)`` items of a labeled-tree TSV file.

    Args:
        path: the file.
        skip_bad: skip bad lines and count them in ``result.skipped`` instead of raising.
        label_type: applied to the node labels inside each tree (None keeps strings).
        unescape: undo PTB token escapes in the trees.

    Returns:
        A :class:`~treernn.corpora.files.ReadResult` of :class:`LabeledTree` items.

    Raises:
        CorpusError: missing file, unreadable file, not UTF-8.
        TreeSyntaxError: a bad line (no TAB, empty label, bad tree, empty line) naming
            ``file:line:column``; unless ``skip_bad``.
    """

    def parse(line: str, source: str, lineno: int) -> LabeledTree:
        return parse_labeled_line(line, source, lineno, label_type, unescape)

    return read_lines(path, parse, skip_bad)


def format_labeled_tree(label: object, tree: Tree) -> str:
    """The ``label<TAB>(tree)`` line of one item (without a line end).

    Raises:
        CorpusError: the label is empty or holds a TAB or a line break.
        TreeStructureError: the tree cannot be written in bracketed form.
    """
    text = str(label)
    if not text.strip() or any(ch in text for ch in "\t\r\n"):
        raise CorpusError(f"label {text!r} cannot be written: it must be non-empty, "
                          "without TAB or line breaks")
    return f"{text}\t{to_ptb(tree)}"


def write_labeled_trees(path: PathArg, items: Iterable[tuple[object, Tree]]) -> int:
    """Write ``(label, tree)`` items as a labeled-tree TSV file, atomically.

    Labels are written with ``str()`` (so they read back as strings); trees on one line with
    ``(`` and ``)`` in tokens escaped. The file is written to a temporary name and renamed,
    so a failure leaves no half-written file.

    Args:
        path: the file to (over)write.
        items: ``(label, tree)`` pairs.

    Returns:
        The number of items written.

    Raises:
        CorpusError: a label that cannot be written (see :func:`format_labeled_tree`), or the
            file cannot be written.
        TreeStructureError: a tree that cannot be written in bracketed form.
    """
    target = Path(path)
    lines = [format_labeled_tree(label, tree) for label, tree in items]
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            for line in lines:
                f.write(line + "\n")
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise CorpusError(f"{target}: cannot write: {err.strerror or err}") from None
    return len(lines)
