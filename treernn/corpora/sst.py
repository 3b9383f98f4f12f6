"""The Stanford Sentiment Treebank (Socher et al., 2013): finding, downloading, loading.

The standard ``trainDevTestTrees_PTB`` split: ``train.txt``, ``dev.txt``, ``test.txt``, one
binarized tree per line with a sentiment class on every node (0 very negative, 1 negative,
2 neutral, 3 positive, 4 very positive); 8544 / 1101 / 2210 trees.

Where the files are looked for, in this order (the first that holds all three wins):

1. the ``path`` argument (the CLI's ``--path``): a directory holding ``train.txt``,
   ``dev.txt`` and ``test.txt``, directly or in its ``sst/`` or ``trees/`` folder; an explicit
   path without the files is an error, there is no fallback;
2. ``$TREERNN_DATA``: a data directory; SST is looked for in ``$TREERNN_DATA/sst/`` (the
   documented layout), then in ``$TREERNN_DATA`` itself and ``$TREERNN_DATA/trees/``;
3. the user cache, ``$XDG_CACHE_HOME/treernn/sst`` (``~/.cache/treernn/sst`` when
   ``$XDG_CACHE_HOME`` is unset);
4. otherwise the official zip (:data:`SST_URL`) is downloaded into the cache
   (:func:`download_sst`).

Binary task (SST-2 style, ``classes=2``): classes 0 and 1 become 0 (negative), 3 and 4 become
1 (positive), and neutral nodes get label None (phrase-level losses skip them); trees whose
root is neutral are dropped and counted: 6920 / 872 / 1821 trees remain.

Pure Python: no torch, DGL or spaCy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from treernn.corpora.download import cache_dir, fetch, one_line
from treernn.corpora.files import PathArg, read_treebank
from treernn.errors import CorpusError
from treernn.trees.tree import Tree

SST_URL = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
SPLITS = ("train", "dev", "test")
SPLIT_FILES = tuple(f"{s}.txt" for s in SPLITS)
ENV_VAR = "TREERNN_DATA"
NUM_CLASSES = 5

# Fine-grained class -> binary class; None marks neutral (unlabeled in the binary task).
BINARY_LABELS: dict[int, Optional[int]] = {0: 0, 1: 0, 2: None, 3: 1, 4: 1}


@dataclass
class SSTSplits:
    """The three SST splits and how they were obtained.

    Attributes:
        train, dev, test: the trees; every node has an ``int`` label (0-4, or 0/1 and None
            for neutral nodes in the binary task).
        classes: 5 (fine-grained) or 2 (binary).
        source: the directory the files were read from.
        skipped: bad lines skipped per split (only with ``skip_bad=True``).
        dropped_neutral: trees dropped per split because their root is neutral (binary task).
    """

    train: list[Tree]
    dev: list[Tree]
    test: list[Tree]
    classes: int
    source: Path
    skipped: dict[str, int] = field(default_factory=dict)
    dropped_neutral: dict[str, int] = field(default_factory=dict)

    def splits(self) -> dict[str, list[Tree]]:
        """``{"train": [...], "dev": [...], "test": [...]}``."""
        return {"train": self.train, "dev": self.dev, "test": self.test}

    def __getitem__(self, split: str) -> list[Tree]:
        if split not in SPLITS:
            raise KeyError(f"unknown SST split {split!r}; known: {', '.join(SPLITS)}")
        return getattr(self, split)


# ---------------------------------------------------------------------------- locations
def sst_cache_dir() -> Path:
    """The cache directory of SST: ``$XDG_CACHE_HOME/treernn/sst`` or ``~/.cache/treernn/sst``.

    A relative ``$XDG_CACHE_HOME`` is ignored, as the XDG specification asks.
    """
    return cache_dir("sst")


def _dir_with_splits(root: Path) -> Optional[Path]:
    """``root``, ``root/sst`` or ``root/trees``: the first holding the three split files."""
    for folder in (root, root / "sst", root / "trees"):
        if all((folder / name).is_file() for name in SPLIT_FILES):
            return folder
    return None


def find_sst(path: Optional[PathArg] = None, cache_dir: Optional[PathArg] = None) -> Optional[Path]:
    """The directory holding SST's three split files, or None when none is found.

    Looks in ``path`` (when given), then ``$TREERNN_DATA``, then the cache (see the module
    docstring for the layouts accepted). Never downloads.

    Args:
        path: an explicit directory; when given, only it is searched.
        cache_dir: the cache directory to use instead of :func:`sst_cache_dir`.

    Raises:
        CorpusError: ``path`` is given but does not hold the three files.
    """
    if path is not None:
        root = Path(path)
        if not root.is_dir():
            raise CorpusError(f"{root}: no such directory (expected the SST folder with "
                              f"{', '.join(SPLIT_FILES)})")
        found = _dir_with_splits(root)
        if found is None:
            raise CorpusError(f"{root}: SST files {', '.join(SPLIT_FILES)} not found there "
                              "(nor in its sst/ or trees/ folder)")
        return found
    env = os.environ.get(ENV_VAR)
    if env:
        found = _dir_with_splits(Path(env))
        if found is not None:
            return found
    cache = Path(cache_dir) if cache_dir is not None else sst_cache_dir()
    return _dir_with_splits(cache)


def _options(cache: Path, url: str) -> str:
    env = os.environ.get(ENV_VAR)
    env_note = f" (now {env}, no SST there)" if env else ""
    return (f"pass the folder with {', '.join(SPLIT_FILES)} (--path / --data-path DIR, or path=DIR), "
            f"or set ${ENV_VAR} to a folder holding sst/{env_note}, "
            f"or put the files in {cache}, or download {url} and unzip it there")



# ---------------------------------------------------------------------------- download
def _extract_splits(archive: Path, out: Path) -> None:
    """Copy ``train/dev/test.txt`` out of the SST zip into ``out`` (preferring ``trees/``).

    Members are read by name and written under fixed names, so a hostile archive cannot
    write outside ``out``.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            for split_file in SPLIT_FILES:
                candidates = [n for n in names if n.rsplit("/", 1)[-1] == split_file]
                if not candidates:
                    raise CorpusError(f"{archive}: the zip has no {split_file} "
                                      "(expected trees/train.txt, trees/dev.txt, trees/test.txt)")
                # The official zip has trees/<split>.txt; prefer it, then the shortest path.
                member = min(candidates, key=lambda n: (n != f"trees/{split_file}", len(n)))
                with zf.open(member) as src, open(out / split_file, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as err:
        raise CorpusError(f"{archive}: not a valid zip file ({one_line(err)})") from None


def download_sst(
    url: str = SST_URL,
    cache_dir: Optional[PathArg] = None,
    timeout: float = 60.0,
) -> Path:
    """Download the SST zip from ``url`` and unpack its three split files into the cache.

    The zip is fetched with ``urllib`` (so ``file://`` URLs work too) into a temporary folder
    beside the cache directory, the files are extracted and checked there, and the folder is
    renamed into place: an interrupted download never leaves a half-filled cache. When the
    cache already holds the files nothing is downloaded.

    Args:
        url: where the ``trainDevTestTrees_PTB.zip`` archive is.
        cache_dir: the directory to fill (default :func:`sst_cache_dir`).
        timeout: seconds to wait for the server.

    Returns:
        The directory holding ``train.txt``, ``dev.txt`` and ``test.txt``.

    Raises:
        CorpusError: the download failed (offline, bad URL, HTTP error), the archive is not a
            zip or lacks a split file, or the cache directory exists without the files; the
            message is one line.
    """
    dest = Path(cache_dir) if cache_dir is not None else sst_cache_dir()
    if dest.exists():
        if _dir_with_splits(dest) == dest:
            return dest
        if not dest.is_dir() or any(dest.iterdir()):
            raise CorpusError(f"{dest}: exists but lacks {', '.join(SPLIT_FILES)}; "
                              "remove it and try again")
        # An empty folder: the rename below replaces it.
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-download-", dir=dest.parent))
    except OSError as err:
        raise CorpusError(f"{dest.parent}: cannot create the cache folder: "
                          f"{one_line(err.strerror or err)}") from None
    try:
        archive = work / "sst.zip"
        fetch(url, archive, "SST", _options(dest, url), timeout)
        staged = work / "sst"
        staged.mkdir()
        _extract_splits(archive, staged)
        if _dir_with_splits(staged) != staged:  # pragma: no cover - _extract_splits checks
            raise CorpusError(f"{url}: the archive did not give {', '.join(SPLIT_FILES)}")
        try:
            os.rename(staged, dest)
        except OSError:
            # Another process may have filled the cache meanwhile; accept a complete one.
            if _dir_with_splits(dest) != dest:
                raise CorpusError(f"{dest}: cannot move the downloaded files into place") from None
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------- loading
def _sentiment_class(text: str) -> int:
    value = int(text)
    if not 0 <= value < NUM_CLASSES:
        raise ValueError(text)
    return value


_sentiment_class.__name__ = "sentiment class (an integer 0-4)"  # used in parse errors


def _check_labeled(tree: Tree) -> Optional[str]:
    for node in tree.postorder():
        if node.label is None:
            return "a node without a sentiment label (SST labels every node)"
    return None


def _to_binary(tree: Tree) -> None:
    """Map fine-grained labels to binary ones in place (neutral -> None)."""
    for node in tree.postorder():
        node.label = BINARY_LABELS[node.label]  # type: ignore[index]


def load_sst(
    path: Optional[PathArg] = None,
    classes: int = 5,
    *,
    unescape: bool = False,
    skip_bad: bool = False,
    download: bool = True,
    url: str = SST_URL,
    cache_dir: Optional[PathArg] = None,
) -> SSTSplits:
    """The SST train/dev/test trees, fine-grained (5 classes) or binary (2 classes).

    Args:
        path: the SST directory; when None, ``$TREERNN_DATA``, then the cache, then a
            download (see the module docstring).
        classes: 5 for labels 0-4 on every node; 2 for the binary task (0/1, neutral nodes
            None, trees with a neutral root dropped and counted in ``dropped_neutral``).
        unescape: undo PTB token escapes (``-LRB-`` -> ``(``). Off by default: tokens stay as
            in the treebank; :func:`treernn.vocab.load_vectors` matches both forms.
        skip_bad: skip bad lines (counted in ``skipped``) instead of raising.
        download: download into the cache when SST is found nowhere.
        url: the archive to download.
        cache_dir: the cache directory (default :func:`sst_cache_dir`).

    Returns:
        An :class:`SSTSplits`.

    Raises:
        CorpusError: SST found nowhere and not downloadable (one line naming the options),
            unreadable files, or ``classes`` not 2 or 5.
        TreeSyntaxError: a bad line (including a label outside 0-4 or an unlabeled node),
            naming ``file:line:column``; unless ``skip_bad``.
    """
    if classes not in (2, 5):
        raise CorpusError(f"classes must be 5 (fine-grained) or 2 (binary), got {classes!r}")
    folder = find_sst(path, cache_dir)
    if folder is None:
        cache = Path(cache_dir) if cache_dir is not None else sst_cache_dir()
        if not download:
            raise CorpusError("SST not found; " + _options(cache, url))
        folder = download_sst(url, cache)
    loaded: dict[str, list[Tree]] = {}
    skipped: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for split in SPLITS:
        result = read_treebank(folder / f"{split}.txt", label_type=_sentiment_class,
                               unescape=unescape, skip_bad=skip_bad, check=_check_labeled)
        trees = result.items
        skipped[split] = result.skipped
        if classes == 2:
            kept = [t for t in trees if BINARY_LABELS[t.label] is not None]  # type: ignore[index]
            dropped[split] = len(trees) - len(kept)
            for tree in kept:
                _to_binary(tree)
            trees = kept
        loaded[split] = trees
    return SSTSplits(loaded["train"], loaded["dev"], loaded["test"], classes, folder,
                     skipped, dropped)


# ---------------------------------------------------------------------------- statistics
def _sorted_counts(counter: Counter) -> dict[str, int]:
    def key(label: Any) -> tuple:
        return (isinstance(label, str), label if not isinstance(label, str) else 0, str(label))

    return {str(label): counter[label] for label in sorted(counter, key=key)}


def sst_stats(splits: Union[SSTSplits, Mapping[str, Sequence[Tree]]]) -> dict[str, Any]:
    """Counts per split, as a JSON-serialisable dict (for ``treernn corpus stats sst``).

    Args:
        splits: an :class:`SSTSplits`, or any ``{split name: trees}`` mapping.

    Returns:
        ``{"splits": {name: {...}}}`` where each split has ``trees``, ``nodes``, ``phrases``
        (labeled nodes), ``unlabeled`` (nodes with label None), ``tokens``, ``root_labels``
        and ``phrase_labels`` (``{label as str: count}``, in label order). For an
        :class:`SSTSplits` also ``classes``, ``source``, ``skipped`` (bad lines skipped,
        ``{split: n}``) and, for the binary task, ``dropped_neutral`` (``{split: n}``); each
        split's entry repeats its own two numbers.
    """
    named = splits.splits() if isinstance(splits, SSTSplits) else dict(splits)
    out: dict[str, Any] = {}
    if isinstance(splits, SSTSplits):
        out["classes"] = splits.classes
        out["source"] = str(splits.source)
        out["skipped"] = dict(splits.skipped)
        if splits.classes == 2:
            out["dropped_neutral"] = dict(splits.dropped_neutral)
    per_split: dict[str, Any] = {}
    for name, trees in named.items():
        roots: Counter = Counter()
        phrases: Counter = Counter()
        nodes = tokens = 0
        for tree in trees:
            roots[tree.label] += 1
            for node in tree.postorder():
                nodes += 1
                phrases[node.label] += 1
                tokens += node.token is not None
        unlabeled = phrases.pop(None, 0)
        roots.pop(None, None)
        entry: dict[str, Any] = {
            "trees": len(trees),
            "nodes": nodes,
            "phrases": nodes - unlabeled,
            "unlabeled": unlabeled,
            "tokens": tokens,
            "root_labels": _sorted_counts(roots),
            "phrase_labels": _sorted_counts(phrases),
        }
        if isinstance(splits, SSTSplits):
            entry["skipped"] = splits.skipped.get(name, 0)
            if splits.classes == 2:
                entry["dropped_neutral"] = splits.dropped_neutral.get(name, 0)
        per_split[name] = entry
    out["splits"] = per_split
    return out
