"""The model process's program: ``python -m treernn.serve.model_process FD`` (started by
:class:`treernn.serve.worker.ModelProcess`, never by hand). It reads its settings from the
connection on file descriptor FD, loads spaCy and the model, says ready, then answers batches
until told to stop or until the server goes (the connection closes). It ignores SIGINT and
SIGTERM: the server decides when it stops, after the requests in flight are answered.
"""

from __future__ import annotations

import signal
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Optional, Sequence, Union

import torch

from treernn import pipeline
from treernn.errors import TreernnError
from treernn.serve.annotate import Annotator, PairAnnotator, respond
from treernn.serve.config import ServeConfig


def load_annotator(config: ServeConfig) -> Union[Annotator, PairAnnotator]:
    """The model, its vocabulary and spaCy, ready to annotate, from a
    :class:`~treernn.serve.config.ServeConfig` (CheckpointError, ParserError for a bad model
    directory or spaCy pipeline)."""
    torch.set_num_threads(config.threads)  # once for the process: switching per batch costs more than a batch
    predictor = pipeline.load(config.model, device=config.device, batch_size=config.max_batch,
                              max_tokens=None, max_chars=None, threads=config.threads,
                              spacy_pipeline=config.spacy_pipeline)
    if getattr(predictor, "kind", None) == "pair":  # a pair model: /v1/relate
        predictor.texts.max_tokens = config.max_tokens or None
        pairs = PairAnnotator(predictor)
        pairs.relate([("Ready.", "Ready.")])  # load spaCy and warm up the model
        return pairs
    predictor.parser  # load spaCy now, not on the first request
    annotator = Annotator(predictor, config.max_tokens or None)
    annotator.annotate(["Ready."])  # warm up spaCy and the model
    return annotator


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Load, say ready, then annotate what comes until told to stop."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not argv[0].isdigit():
        print("treernn.serve.model_process: started by `treernn serve` (with a connection's file "
              "descriptor), not by hand", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server decides
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(int(argv[0]))
    try:
        settings = conn.recv()
        annotator = load_annotator(ServeConfig(**settings))
    except EOFError:
        return 0
    except TreernnError as exc:
        conn.send(("error", str(exc)))
        return 2
    except Exception as exc:  # pragma: no cover - a bug; the server shows the line
        traceback.print_exc(file=sys.stderr)
        conn.send(("error", f"the model could not be loaded: {type(exc).__name__}: {exc}"))
        return 1
    conn.send(("ready", None))
    while True:
        try:
            kind, items = conn.recv()
        except (EOFError, OSError):
            return 0
        if kind == "stop":
            return 0
        try:
            conn.send(("ok", respond(annotator, items)))
        except TreernnError as exc:
            conn.send(("input", str(exc)))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            conn.send(("failure", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    sys.exit(main())
