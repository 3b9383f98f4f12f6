"""Texts in: the one reader of command-line texts and stdin lines, and the chunked stream
with its one-by-one fallback, shared by ``treernn parse`` and ``treernn classify`` (and
:func:`treernn.pipeline.stream`).

- :func:`read_inputs`: ``(number, where, raw)`` for each TEXT argument, or each stdin line for
  ``-`` (bytes, read as they come: memory does not grow with the input). Blank lines separate
  texts; they are no input.
- :func:`decode_inputs`: the texts as str; a bad one (not UTF-8, a NUL byte, empty) is
  reported as ``"where: reason"`` and skipped.
- :func:`chunked`: run a function on ``chunk`` texts at a time (so a parser can batch); when
  it fails on a chunk, run it on each text alone to name the bad one(s), report them, and go on.

Torch-free, like the trees and the parsers it serves.
"""

from __future__ import annotations

import re
import sys
from typing import BinaryIO, Callable, Iterable, Iterator, Optional, Sequence, TypeVar, Union

from treernn.errors import TreernnError, TreeSyntaxError

#: The longest sentence the pipeline labels by default, in tokens (``--max-tokens``): measured
#: on this project's 2-core machine, a sentence of this length costs well under a second (docs/pipeline.md,
#: "Labeling text").
DEFAULT_MAX_TOKENS = 1000
#: The longest text the pipeline parses by default, in characters (``--max-chars``).
DEFAULT_MAX_CHARS = 100_000

Item = tuple[int, str, str]  # (number, where, text)
Out = TypeVar("Out")


def read_inputs(texts: Sequence[str], stdin: Optional[BinaryIO] = None) -> Iterator[tuple[int, str, bytes]]:
    """(number, where, raw bytes) of each TEXT argument (``<arg K>``), or of each non-blank
    stdin line (``<stdin>:LINE``) for ``-``. ``number`` counts texts and stdin lines from 1.

    Raises:
        TreernnError: no texts at all.
    """
    if not texts:
        raise TreernnError("no input, got no TEXT; give TEXT arguments or '-' to read stdin")
    number = 0
    for i, text in enumerate(texts, start=1):
        if text == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            for lineno, raw in enumerate(stream, start=1):
                number += 1
                if raw.strip():  # blank lines separate texts; they are no input
                    yield number, f"<stdin>:{lineno}", raw
        else:
            number += 1
            yield number, f"<arg {i}>", text.encode("utf-8", "surrogateescape")


def decode_inputs(items: Iterable[tuple[int, str, Union[bytes, str]]],
                  report: Callable[[str], None]) -> Iterator[Item]:
    """The texts of ``items`` as str (UTF-8, line end removed); a text that is not UTF-8, holds
    a NUL byte or is empty is reported (``"where: reason"``) and skipped."""
    for number, where, raw in items:
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report(f"{where}: not UTF-8 (byte {exc.start})")
                continue
        else:
            text = raw
        if "\x00" in text:
            report(f"{where}: contains a NUL byte")
            continue
        text = text.rstrip("\r\n")
        if not text.strip():
            report(f"{where}: empty text")
            continue
        yield number, where, text


def located(where: str, exc: Exception) -> str:
    """The error of one input text, located at that text (its column where known)."""
    if isinstance(exc, TreeSyntaxError):
        return f"{where}:{exc.column}: {exc.reason}"
    return f"{where}: {re.sub(r'^text [0-9]+: ', '', str(exc))}"


def chunked(items: Iterable[Item], run: Callable[[list[Item]], Iterable[Out]], report: Callable[[str], None],
            chunk: int = 64) -> Iterator[Out]:
    """``run`` on ``chunk`` items at a time; a chunk it fails on (a :class:`TreernnError`) is
    run again one item at a time, and each item that still fails is reported (located) and
    skipped. Memory stays flat on an endless stream."""
    if chunk < 1:
        raise TreernnError(f"chunk must be >= 1, got {chunk}; e.g. 64")
    pending: list[Item] = []

    def flush() -> Iterator[Out]:
        try:
            results = list(run(pending))
        except TreernnError:
            for item in pending:  # find the bad text(s): one at a time
                try:
                    one = list(run([item]))
                except TreernnError as exc:
                    report(located(item[1], exc))
                else:
                    yield from one
        else:
            yield from results

    for item in items:
        pending.append(item)
        if len(pending) >= chunk:
            yield from flush()
            pending = []
    if pending:
        yield from flush()
