"""Settings of ``treernn bench``: :class:`BenchConfig`, the configurations (:data:`CONFIGS`),
the notes of the report and :func:`bench_config` (command-line values -> settings).

Imports neither torch nor numpy: the command line reads :data:`CONFIGS` for its help text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from treernn.errors import BenchError, VocabError
from treernn.vocab import vector_file_info




# --------------------------------------------------------------------------- settings
@dataclass
class BenchConfig:
    """Settings of one benchmark run.

    Attributes:
        quick: a smoke run (a few hundred trees, one timed batch per measurement).
        batch_sizes: B values to measure.
        device: ``cpu`` or ``cuda``.
        data_path: the SST folder (None: ``$TREERNN_DATA`` or the cache, see ``load_sst``).
        vectors: a vector file to initialise the embeddings; its size sets ``input_dim``
            (None: random vectors, E = 300). The values do not change the cost; the size does.
        threads: ``torch.set_num_threads`` (None: leave PyTorch's setting).
        rounds: calm slices wanted per measurement (the result is their median).
        train_seconds, infer_seconds: the timed slice of one measurement in one round (at
            least one batch).
        max_seconds: a measurement whose slices took this long in all gets no more rounds
            (slow configurations: fewer slices).
        time_budget: no new round starts once the run has taken this long, or would with
            one more round like the last (None: no limit; at least one round always runs).
        calm_factor: a slice is calm when the probes around it take at most this times the
            best probe of the run.
        warmup_batches: untimed batches of ``min(B, 25)`` sentences before a measurement's
            first slice.
        max_trees: sentences used (None: all training trees).
        dependency_trees: sentences parsed with spaCy for ``child-sum-deps`` (cycled).
        configs: which configurations to run (None: all of :data:`CONFIGS`).
        pipeline_sentences: sentences for the parse-and-classify pipeline measurement (0: skip).
        sick_path: SICK.txt or its folder for ``child-sum-sick`` (None: ``$TREERNN_DATA`` or
            the cache, see ``load_sick``; not found: the configuration is skipped, said why).
    """

    quick: bool = False
    batch_sizes: tuple[int, ...] = (25, 256)
    device: str = "cpu"
    data_path: Optional[str] = None
    vectors: Optional[str] = None
    threads: Optional[int] = None
    input_dim: int = 300
    hidden_dim: int = 150
    num_classes: int = 5
    rounds: int = 5
    train_seconds: float = 1.5
    infer_seconds: float = 0.75
    max_seconds: float = 20.0
    time_budget: Optional[float] = 540.0
    calm_factor: float = 3.0
    warmup_batches: int = 2
    max_trees: Optional[int] = None
    dependency_trees: int = 2000
    seed: int = 0
    configs: Optional[tuple[str, ...]] = None
    pipeline_sentences: int = 1000
    sick_path: Optional[str] = None

    @classmethod
    def quick_run(cls, **changes: Any) -> "BenchConfig":
        """The ``--quick`` settings (a smoke run, well under a minute): 200 trees, batch sizes
        4 and 16 (the RNTN's training is slow), one round of one warm-up and one timed batch,
        one thread (a busy shared machine slows multi-threaded PyTorch down many times)."""
        settings = dict(quick=True, batch_sizes=(4, 16), threads=1, rounds=1,
                        train_seconds=0.0, infer_seconds=0.0, time_budget=0.0, warmup_batches=1,
                        max_trees=200, dependency_trees=200, pipeline_sentences=50)
        settings.update(changes)
        return cls(**settings)


CONFIGS = {
    "tree-lstm-native": "N-ary Tree-LSTM, native backend, SST trees, loss on every node",
    "tree-lstm-unfused": ("N-ary Tree-LSTM, native backend with the Python level loop (the fused C++ "
                          "loop off: treernn.nn.fused.disabled()), SST trees, loss on every node"),
    "tree-lstm-dgl": "N-ary Tree-LSTM, DGL backend, SST trees, loss on every node",
    "dgl-example": "DGL example's Tree-LSTM (prop_nodes_topo, Python reduce), loss on every node",
    "child-sum-deps": "Child-Sum Tree-LSTM, spaCy dependency trees, loss on labelled nodes",
    "rntn-native": "RNTN, native backend, SST trees, loss on every node",
    "bilstm": "fused BiLSTM (nn.LSTM), loss on the sentence label only",
    "child-sum-sick": ("Child-Sum Tree-LSTM pair model (relatedness), SICK training pairs "
                       "parsed by spaCy; a row counts pairs (two sentences each)"),
}

#: SICK's training pairs: an epoch of ``child-sum-sick`` (the pair goal: under 10 s, one thread)
SICK_TRAIN_PAIRS = 4439

MEMORY_NOTE_CPU = (
    "peak RSS increase of the process during a measurement's slice (VmHWM reset through "
    "/proc/self/clear_refs after gc and malloc_trim, minus the RSS at the slice's start), the "
    "largest over the rounds; optimizer state made in the first slice counts there; memory "
    "the allocator kept from earlier slices can make it an underestimate"
)
MEMORY_NOTE_CUDA = ("torch.cuda.max_memory_allocated during a measurement's slice minus the "
                    "memory allocated at its start, the largest over the rounds")


def bench_config(quick: bool = False, batch_sizes: Optional[str] = None, device: str = "cpu",
                 data_path: Optional[str] = None, vectors: Optional[str] = None,
                 threads: Optional[int] = None, configs: Optional[str] = None,
                 rounds: Optional[int] = None, pipeline_sentences: Optional[int] = None,
                 sick_path: Optional[str] = None) -> BenchConfig:
    """A :class:`BenchConfig` from command-line values (``batch_sizes`` like ``"25,256"``).

    Raises:
        BenchError: batch sizes that are not positive integers, or threads < 1.
    """
    changes: dict = {"device": device, "data_path": data_path, "vectors": vectors, "sick_path": sick_path}
    if vectors is not None:  # the input size follows the file (GloVe 6B 50-d: E = 50)
        try:
            changes["input_dim"] = vector_file_info(vectors).dim
        except (OSError, VocabError) as exc:
            raise BenchError(f"--vectors cannot be read, got {vectors!r}: {str(exc).splitlines()[0]}") from None
    if threads is not None:  # else the default of the mode (--quick: one thread)
        changes["threads"] = threads
    if batch_sizes is not None:
        try:
            sizes = tuple(int(x) for x in batch_sizes.split(",") if x.strip())
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            raise BenchError(f"--batch-sizes must be positive integers like 25,256, "
                             f"got {batch_sizes!r}")
        changes["batch_sizes"] = sizes
    if configs is not None:
        changes["configs"] = tuple(c.strip() for c in configs.split(",") if c.strip())
    if threads is not None and threads < 1:
        raise BenchError(f"--threads must be >= 1, got {threads}")
    if rounds is not None:
        if rounds < 1:
            raise BenchError(f"--rounds must be >= 1, got {rounds}")
        changes["rounds"] = rounds
    if pipeline_sentences is not None:
        if pipeline_sentences < 0:
            raise BenchError(f"--pipeline-sentences must be >= 0 (0: skip), got {pipeline_sentences}")
        changes["pipeline_sentences"] = pipeline_sentences
    return BenchConfig.quick_run(**changes) if quick else BenchConfig(**changes)
