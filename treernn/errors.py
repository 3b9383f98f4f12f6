"""The project's own exceptions.

Every error a user can cause with bad input is a :class:`TreernnError`; the command line
prints its one-line message and exits with code 2 instead of showing a traceback.
"""

from __future__ import annotations


class TreernnError(Exception):
    """Base class of every error treernn raises on purpose."""


class TreeSyntaxError(TreernnError, ValueError):
    """A bracketed tree could not be read.

    The message names the source (file or ``<string>``), the line and the column.
    """

    def __init__(self, message: str, source: str = "<string>", line: int = 1, column: int = 1):
        self.reason = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(f"{source}:{line}:{column}: {message}")


class TreeStructureError(TreernnError, ValueError):
    """A tree has the wrong shape for the operation (e.g. not binary, no tokens)."""


class ParserError(TreernnError):
    """A parser could not be created or could not parse its input."""


class CorpusError(TreernnError):
    """A corpus could not be found, downloaded or read."""


class VocabError(TreernnError):
    """A vocabulary or a vector file is unusable."""
