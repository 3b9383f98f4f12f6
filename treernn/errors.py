"""Every exception treernn raises on purpose, grouped by the layer that raises it.

Every error a user can cause with bad input is a :class:`TreernnError`; the command line
prints its one-line message (``treernn: error: ...``) and exits with code 2 instead of showing
a traceback. Each layer's modules import their classes from here, so one file lists them all.

Layers, lowest first (see docs/architecture.md): plumbing (storage, devices, DGL) -> trees ->
parsing -> corpora -> vocab -> batching -> nn -> encoders -> models -> training -> pipeline ->
server -> cli. This module imports nothing.
"""

from __future__ import annotations


class TreernnError(Exception):
    """Base class of every error treernn raises on purpose."""


# ---------------------------------------------------------------------------- plumbing
class ConfigError(TreernnError, ValueError):
    """A bad setting: a configuration file, a ``--section.key`` override, a command-line
    option or a library argument that selects behaviour (device, backend, encoder option).

    Messages read ``<what>, got <value>; <how to fix>``.
    """


class TuneError(ConfigError):
    """``treernn tune``: a bad search space (an unknown setting, a malformed range), a study
    directory of another model or corpus, a damaged study file, a bad ``--jobs``."""


class CheckpointError(TreernnError):
    """A model directory or a stored file is missing, incomplete, corrupt, unwritable, or a
    pickle (never loaded)."""


class DGLUnavailableError(TreernnError):
    """DGL cannot be imported, or this DGL build cannot run on the requested device."""


# ---------------------------------------------------------------------------- trees
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


# ---------------------------------------------------------------------------- parsing
class ParserError(TreernnError):
    """A parser could not be created or could not parse its input."""


# ---------------------------------------------------------------------------- corpora
class CorpusError(TreernnError):
    """A corpus could not be found, downloaded or read."""


class RecordError(CorpusError):
    """One bad record of a user's table (CSV, TSV, JSON lines): where (``line`` or
    ``line:column``) and why; raised, or skipped and counted with ``skip_bad``."""

    def __init__(self, line: int, reason: str, column: "int | None" = None) -> None:
        super().__init__(reason)
        self.line = line
        self.where = f"{line}:{column}" if column is not None else str(line)
        self.reason = reason


# ---------------------------------------------------------------------------- vocab
class VocabError(TreernnError):
    """A vocabulary or a vector file is unusable."""


# ---------------------------------------------------------------------------- batching
class TreeBatchError(TreernnError, ValueError):
    """Trees that cannot be batched: an empty list, labels that are not integers, no vocab."""


class SequenceBatchError(TreernnError, ValueError):
    """Sentences that cannot be batched (empty batch, empty sentence, untokenized string)."""


# ---------------------------------------------------------------------------- nn
class CellError(TreernnError, ValueError):
    """Bad arguments for a cell (a tree cell, or a chain cell or layer)."""


class ChainError(CellError):
    """Bad arguments for a chain cell or layer."""


# ---------------------------------------------------------------------------- encoders
class EncoderError(TreernnError, ValueError):
    """Bad arguments for an encoder, or inputs that do not fit the batch."""


class UnknownEncoderError(ConfigError, KeyError):
    """An encoder name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


# ---------------------------------------------------------------------------- models
class ModelError(TreernnError, ValueError):
    """Bad model arguments or examples the model cannot take."""


# ---------------------------------------------------------------------------- training
class TrainingError(TreernnError):
    """Training cannot go on (bad settings, a non-finite loss, an unusable resume directory)."""


class DistributedError(TreernnError):
    """A distributed run that cannot start (no launcher environment, a backend missing)."""


# ---------------------------------------------------------------------------- server
class ServerError(TreernnError):
    """The server cannot start as asked (bad settings, a port in use), or a request it refuses
    (the server turns these into a 4xx answer with a one-line ``error``)."""


class RequestError(ServerError):
    """A request the server refuses; ``status`` is the HTTP status of its answer (400 bad input,
    413 too large, 503 over the timeout or the queue full)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------- bench
class BenchError(TreernnError):
    """The benchmark cannot run as asked (bad settings, missing data)."""
