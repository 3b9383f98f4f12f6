"""Reading treebank files: one bracketed tree per line, with exact error positions.

Format::

    (3 (2 The) (4 (3 gorgeously) (2 elaborate)))
    (1 (2 A) (1 (1 dull) (2 film)))

- one tree per line; trailing blank lines at the end of the file are ignored, a blank line
  anywhere else is a bad line ("empty line");
- UTF-8 (a leading byte-order mark is dropped), ``\\n`` or ``\\r\\n`` line ends.

Every problem is a :class:`~treernn.errors.TreeSyntaxError` naming ``file:line:column``.
With ``skip_bad=True`` bad lines are skipped and counted in the :class:`ReadResult`, never
dropped silently.

Pure Python: no torch, DGL or spaCy.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Callable, Generic, Iterator, Optional, TypeVar, Union

from treernn.errors import CorpusError, TreeSyntaxError
from treernn.trees.ptb import from_ptb
from treernn.trees.tree import Label, Tree

PathArg = Union[str, "PathLike[str]"]
T = TypeVar("T")

EMPTY_LINE = "empty line (one tree per line; remove blank lines between trees)"


@dataclass
class ReadResult(Generic[T]):
    """What a file reader returns: the items read and what was skipped.

    Attributes:
        source: the file name used in messages.
        items: the items read, in file order.
        lines: the 1-based line number of each item (same length as ``items``).
        skipped: number of bad lines skipped (always 0 unless ``skip_bad=True``).
        errors: one message (``file:line:column: reason``) per skipped line.
    """

    source: str
    items: list[T] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def read_text(path: PathArg) -> str:
    """The whole content of a UTF-8 text file (a leading byte-order mark removed).

    Raises:
        CorpusError: the file is missing, is a directory, cannot be read, or is not UTF-8
            (the message names the byte offset and line of the first bad byte).
    """
    p = Path(path)
    data = read_bytes(p)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise CorpusError(
            f"{p}: not UTF-8: byte 0x{data[err.start]:02x} at byte offset {err.start} "
            f"(line {line}); convert the file to UTF-8"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_bytes(path: PathArg) -> bytes:
    """The bytes of a file.

    Raises:
        CorpusError: the file is missing, is a directory, or cannot be read.
    """
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise CorpusError(f"{p}: is a directory, expected a file") from None
    except OSError as err:
        raise CorpusError(f"{p}: cannot read: {err.strerror or err}") from None


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for every line up to the last non-blank one.

    Line ends (``\\n``, ``\\r\\n``) are removed; blank lines at the end are not yielded.
    """
    lines = text.split("\n")
    last = len(lines)
    while last > 0 and not lines[last - 1].strip():
        last -= 1
    for i in range(last):
        line = lines[i]
        yield i + 1, line[:-1] if line.endswith("\r") else line


def read_lines(
    path: PathArg,
    parse: Callable[[str, str, int], T],
    skip_bad: bool = False,
) -> ReadResult[T]:
    """Parse every line of a file with ``parse(line, source, lineno)``.

    A blank line before the last non-blank one is a bad line. ``parse`` reports a bad line
    by raising :class:`TreeSyntaxError`.

    Args:
        path: the file.
        parse: turns one line into an item.
        skip_bad: skip (and count) bad lines instead of raising.

    Returns:
        A :class:`ReadResult` with the items, their line numbers and what was skipped.

    Raises:
        CorpusError: the file cannot be read (see :func:`read_text`).
        TreeSyntaxError: a bad line, unless ``skip_bad``.
    """
    source = str(path)
    text = read_text(path)
    result: ReadResult[T] = ReadResult(source)
    with gc_paused():
        for lineno, line in iter_lines(text):
            try:
                if not line.strip():
                    raise TreeSyntaxError(EMPTY_LINE, source, lineno, 1)
                item = parse(line, source, lineno)
            except TreeSyntaxError as err:
                if not skip_bad:
                    raise
                result.skipped += 1
                result.errors.append(str(err))
                continue
            result.items.append(item)
            result.lines.append(lineno)
    return result


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small acyclic objects are built.

    Reading SST creates ~440,000 tree nodes that all stay alive; each automatic collection
    would walk all of them again, which more than doubles the load time. Trees hold no
    reference cycles, so nothing is missed; the collector is restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_tree_line(
    line: str,
    source: str = "<string>",
    lineno: int = 1,
    label_type: Optional[Callable[[str], Label]] = None,
    unescape: bool = False,
) -> Tree:
    """One bracketed tree from one line of a file (see :func:`treernn.trees.ptb.from_ptb`).

    Raises:
        TreeSyntaxError: a bad tree, naming ``source:lineno:column``.
    """
    return from_ptb(line, source=source, label_type=label_type, unescape=unescape,
                    first_line=lineno)


def read_treebank(
    path: PathArg,
    label_type: Optional[Callable[[str], Label]] = int,
    unescape: bool = False,
    skip_bad: bool = False,
    check: Optional[Callable[[Tree], Optional[str]]] = None,
) -> ReadResult[Tree]:
    """The trees of a treebank file, one bracketed tree per line.

    Args:
        path: the file.
        label_type: applied to every label (``int`` for SST; None keeps strings); a label it
            rejects is a bad line, reported at the label's column.
        unescape: undo PTB token escapes (``-LRB-`` -> ``(``).
        skip_bad: skip bad lines and count them in ``result.skipped`` instead of raising.
        check: an extra test of each tree; returns a reason when the tree is unusable
            (reported at column 1 of its line), None when it is fine.

    Returns:
        A :class:`ReadResult` of trees (``result.items``), their line numbers and the count
        and messages of skipped lines.

    Raises:
        CorpusError: missing file, unreadable file, not UTF-8.
        TreeSyntaxError: a bad line (unbalanced brackets, bad label, empty line, two trees
            on one line, ``check`` failure), naming ``file:line:column``; unless ``skip_bad``.
    """

    def parse(line: str, source: str, lineno: int) -> Tree:
        tree = parse_tree_line(line, source, lineno, label_type, unescape)
        if check is not None:
            reason = check(tree)
            if reason is not None:
                raise TreeSyntaxError(reason, source, lineno, 1)
        return tree

    return read_lines(path, parse, skip_bad)
