"""Penn Treebank bracketed trees <-> :class:`Tree`.

Format read and written (the Penn Treebank / Stanford Sentiment Treebank convention)::

    (3 (2 The) (4 (3 gorgeously) (2 elaborate)))       # SST: an integer label on every node
    ( (S (NP (DT the) (NN man)) (VP (VBD slept))))     # PTB: unlabeled outer bracket allowed

- ``(label token)`` is a leaf carrying ``token`` with ``label``;
- ``(label child child ...)`` is an internal node; a child is a bracket or a bare token
  (an unlabeled leaf);
- ``( (S ...))``, ``( a b)``: a bracket followed by a bracket or by whitespace has no label
  (a label follows its ``(`` directly); the writer writes unlabeled internal nodes so;
- a bare token alone at top level is a single unlabeled leaf.

So a labeled node whose only child is an unlabeled leaf, ``(L w)``, is the labeled leaf ``w``
when read back: the bracketed form cannot tell the two apart.

Tokens keep their PTB escapes (``-LRB-``, ``-RRB-``, ``\\/``, ``\\*`` ...) unless
``unescape=True``. The writer always escapes ``(`` and ``)`` in tokens, since a bracket
inside a token cannot be read back.

Reading and writing are iterative, so deeply nested input cannot hit the recursion limit.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, Optional

from treernn.errors import TreeSyntaxError
from treernn.trees.brackets import _ASCII_SPACE, PTB_ESCAPES, escape_token, to_ptb, unescape_token
from treernn.trees.tree import Label, Tree

__all__ = ["PTB_ESCAPES", "escape_token", "from_ptb", "iter_ptb", "to_ptb", "unescape_token"]

_TOKEN_RE = re.compile(r"\(|\)|[^ \t\n\r\f\v()]+")


def _positions(text: str) -> Callable[[int], tuple[int, int]]:
    """A function mapping a character offset to (line, column), both 1-based."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def locate(offset: int) -> tuple[int, int]:
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - starts[lo] + 1

    return locate


def iter_ptb(
    text: str,
    source: str = "<string>",
    label_type: Optional[Callable[[str], Label]] = None,
    unescape: bool = False,
    first_line: int = 1,
) -> Iterator[Tree]:
    """Every tree in ``text`` (trees may span lines; whitespace between them is ignored).

    Args:
        text: bracketed trees.
        source: the name used in error messages (a file name, or ``<string>``).
        label_type: applied to every label, e.g. ``int`` for SST; a label it rejects is a
            :class:`TreeSyntaxError` at that label.
        unescape: undo PTB token escapes (``-LRB-`` -> ``(``).
        first_line: line number of the first line of ``text`` (for error messages).

    Raises:
        TreeSyntaxError: unbalanced brackets, an empty bracket, a bad label; the message
            names ``source:line:column``.
    """
    locate = _positions(text)

    def fail(message: str, offset: int) -> TreeSyntaxError:
        line, col = locate(offset)
        return TreeSyntaxError(message, source, line + first_line - 1, col)

    if "\x00" in text:
        raise fail("NUL byte in bracketed tree", text.index("\x00"))

    # Each open frame: [offset of '(', label, label_offset, children, label_seen]
    stack: list[list] = []
    label_pending = False  # the last token was '(' (the next atom is the label)
    for match in _TOKEN_RE.finditer(text):
        tok = match.group(0)
        offset = match.start()
        if tok == "(":
            if stack and label_pending:
                stack[-1][4] = True  # '( (' : the outer bracket has no label
            # '(' then whitespace: an unlabeled bracket, as in PTB's '( (S ...))'.
            unlabeled = offset + 1 < len(text) and text[offset + 1] in _ASCII_SPACE
            stack.append([offset, None, offset, [], unlabeled])
            label_pending = not unlabeled
        elif tok == ")":
            if not stack:
                raise fail("unexpected ')' (no open bracket)", offset)
            start, label, label_offset, children, _ = stack.pop()
            label_pending = False
            if not children:
                if label is None:
                    raise fail("empty brackets '()'", start)
                raise fail(f"constituent {label!r} has no children", start)
            if label is not None and label_type is not None:
                try:
                    label = label_type(label)
                except (ValueError, TypeError):
                    raise fail(
                        f"label {label!r} is not a valid {getattr(label_type, '__name__', 'label')}",
                        label_offset,
                    ) from None
            if len(children) == 1 and isinstance(children[0], str) and label is not None:
                node = Tree(label=label, token=children[0])  # (label token): a labeled leaf
            else:
                node = Tree(
                    label=label,
                    children=[Tree(token=c) if isinstance(c, str) else c for c in children],
                )
            if stack:
                stack[-1][3].append(node)
            else:
                yield node
        else:
            if stack and label_pending and not stack[-1][4]:
                stack[-1][1] = tok
                stack[-1][2] = offset
                stack[-1][4] = True
                label_pending = False
                continue
            label_pending = False
            token = unescape_token(tok) if unescape else tok
            if stack:
                stack[-1][3].append(token)
            else:
                yield Tree(token=token)
    if stack:
        raise fail("unclosed '(' (missing ')')", stack[0][0])


def from_ptb(
    text: str,
    source: str = "<string>",
    label_type: Optional[Callable[[str], Label]] = None,
    unescape: bool = False,
    first_line: int = 1,
) -> Tree:
    """Exactly one tree from its bracketed form. See :func:`iter_ptb` for the arguments.

    Raises:
        TreeSyntaxError: no tree, more than one tree, or a syntax error.
    """
    trees = iter_ptb(text, source, label_type, unescape, first_line)
    first = next(trees, None)
    if first is None:
        raise TreeSyntaxError("empty input: expected a bracketed tree", source, first_line, 1)
    try:
        next(trees)
    except StopIteration:
        return first
    # Locate the start of the second tree for the message.
    depth, offset = 0, 0
    for match in _TOKEN_RE.finditer(text):
        if match.group(0) == "(":
            depth += 1
        elif match.group(0) == ")":
            depth -= 1
        if depth == 0:
            offset = match.end()
            break
    rest = len(text) - len(text[offset:].lstrip())
    line = text.count("\n", 0, rest) + first_line
    col = rest - (text.rfind("\n", 0, rest) + 1) + 1
    raise TreeSyntaxError("text after the end of the tree", source, line, col)
