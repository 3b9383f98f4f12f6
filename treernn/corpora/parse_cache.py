"""Parse once: users' texts parsed by spaCy, the trees cached on disk.

A corpus of texts is parsed the first time it is read (a progress bar, ``processes`` spaCy
processes) and its trees written to ``$XDG_CACHE_HOME/treernn/parses/<key>.jsonl`` (else
``~/.cache/treernn/parses``). The key covers everything the trees depend on:

- the texts themselves (SHA-256 of every text, in order: the file's content as read, so an
  edited file, another text column or another encoding is another key),
- the spaCy pipeline's language, name and version,
- :data:`TREE_FORMAT`, treernn's tree format (bumped when a tree changes for the same parse).

A cache file is a header line (format, key, pipeline, number of texts, SHA-256 of the body)
and one JSON line per text: the list of its sentences, each a dependency tree as three lists
in token order, ``{"t": tokens, "h": heads (-1 at the root), "l": relations}`` (read back 10x
faster than nested node objects). It is written atomically; on reading, a file whose
header, count or checksum does not agree is reported in one line and parsed again, never
used. A cache directory that cannot be written is said once; the run goes on without a cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional, Sequence

from treernn import storage
from treernn.corpora.download import cache_dir
from treernn.corpora.files import gc_paused
from treernn.errors import CheckpointError, ParserError
from treernn.parsing import SpacyParser, load_spacy, pipeline_id
from treernn.trees import Tree, drop_tokens

#: treernn's tree format in the cache: bump when the trees of one parse change.
TREE_FORMAT = 2

_warned_unwritable: set[str] = set()


def parse_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/treernn/parses`` (an absolute ``$XDG_CACHE_HOME`` only), else
    ``~/.cache/treernn/parses``."""
    return cache_dir("parses")


def cache_key(texts: Sequence[str], pipeline: str) -> str:
    """The cache key of ``texts`` parsed by ``pipeline`` (see the module docstring)."""
    digest = hashlib.sha256(f"treernn-parses/{TREE_FORMAT}/{pipeline}\n".encode())
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def _clean(trees: list[Tree]) -> list[Tree]:
    """spaCy keeps runs of spaces and newlines as tokens: dropped (a sentence of nothing else
    goes), as the labeling pipeline drops them."""
    out = []
    for tree in trees:
        kept = drop_tokens(tree, lambda token: not token.strip())
        if kept is not None:
            out.append(kept)
    return out


def encode_sentence(tree: Tree) -> dict:
    """A dependency tree (a token and ``index`` 0..n-1 on every node) as ``{"t", "h", "l"}``;
    any other tree as :meth:`~treernn.trees.Tree.to_dict` under ``"d"``."""
    nodes = tree.postorder()
    n = len(nodes)
    if any(node.token is None or not isinstance(node.index, int) for node in nodes) \
            or sorted(node.index for node in nodes) != list(range(n)):
        return {"d": tree.to_dict()}
    tokens, heads, labels = [""] * n, [-1] * n, [None] * n
    for node in nodes:
        tokens[node.index], labels[node.index] = node.token, node.label
        for child in node.children:
            heads[child.index] = node.index
    return {"t": tokens, "h": heads, "l": labels}


def decode_sentence(data: dict) -> Tree:
    """Inverse of :func:`encode_sentence` (children in sentence order, as spaCy gives them)."""
    if "d" in data:
        return Tree.from_dict(data["d"])
    tokens, heads, labels = data["t"], data["h"], data["l"]
    n = len(tokens)
    if not (n == len(heads) == len(labels)) or heads.count(-1) != 1 or not all(-1 <= h < n for h in heads):
        raise ValueError("a sentence needs one head per token and one root")
    # (the file's checksum vouches for the rest: it was written from a tree)
    new = Tree.__new__  # every node carries a token: no leaf check needed
    nodes = [new(Tree) for _ in range(n)]
    for i, node in enumerate(nodes):
        node.label, node.token, node.index, node.children = labels[i], tokens[i], i, []
    for i, head in enumerate(heads):
        if head >= 0:
            nodes[head].children.append(nodes[i])
    return nodes[heads.index(-1)]


def _read(path: Path, key: str, count: int) -> tuple[Optional[list[list[Tree]]], Optional[str]]:
    """(the cached sentences of each text, None) or (None, why the file cannot be used)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # not cached (or no cache directory)
        return None, None
    except OSError as exc:
        return None, f"cannot read it ({exc.strerror or exc})"
    head, _, body = data.partition(b"\n")
    try:
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != TREE_FORMAT or header.get("key") != key:
            return None, "its header does not match"
        if header.get("texts") != count:
            return None, f"it holds {header.get('texts')} texts, expected {count}"
        if header.get("sha256") != hashlib.sha256(body).hexdigest():
            return None, "its checksum does not match (a torn or edited file)"
        lines = body.decode("utf-8").splitlines()
        if len(lines) != count:
            return None, f"it has {len(lines)} lines for {count} texts"
        with gc_paused():  # hundreds of thousands of nodes, no cycles (see files.gc_paused)
            return [[decode_sentence(t) for t in json.loads(line)] for line in lines], None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return None, f"it does not read ({type(exc).__name__})"
    except Exception as exc:  # a tree that does not rebuild (TreeStructureError, ...)
        return None, f"it does not read ({exc})"


def _write(path: Path, key: str, pipeline: str, parsed: list[list[Tree]], log: Callable[[str], None]) -> None:
    body = "".join(json.dumps([encode_sentence(t) for t in trees], ensure_ascii=False, separators=(",", ":")) + "\n"
                   for trees in parsed)
    raw = body.encode("utf-8")
    header = {"format": TREE_FORMAT, "key": key, "pipeline": pipeline, "texts": len(parsed),
              "sha256": hashlib.sha256(raw).hexdigest()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        storage.atomic_write_bytes(path, json.dumps(header).encode() + b"\n" + raw)
    except (OSError, CheckpointError) as exc:
        where = str(path.parent)
        if where not in _warned_unwritable:
            _warned_unwritable.add(where)
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            log(f"note: cannot write the parse cache in {where} ({reason}); working without a cache")


def parse_texts(texts: Sequence[str], pipeline: Optional[str] = None, processes: int = 1,
                cache: bool = True, progress: bool = True, log: Callable[[str], None] = print,
                what: str = "texts") -> list[list[Tree]]:
    """The sentences of each text as spaCy dependency trees (whitespace tokens dropped),
    from the cache when it holds them, else parsed and cached.

    Args:
        texts: the texts (non-empty strings).
        pipeline: a spaCy pipeline with a parser (None: treernn's English one).
        processes: spaCy processes (``nlp.pipe(n_process=...)``).
        cache: read and write the cache.
        progress: a progress bar on stderr while parsing.
        log: where the one-line notes go (a damaged cache entry, an unwritable cache).
        what: the texts' name in the progress bar (a file name).

    Raises:
        ParserError: the pipeline is not installed or has no parser.
    """
    nlp = load_spacy(pipeline)
    name = pipeline_id(nlp)
    key = cache_key(texts, name)
    path = parse_cache_dir() / f"{key}.jsonl"
    if cache:
        cached, problem = _read(path, key, len(texts))
        if cached is not None:
            return cached
        if problem is not None:
            log(f"note: the parse cache {path} is damaged: {problem}; parsing again")
    parser = SpacyParser(nlp=nlp, n_process=processes, batch_size=64)
    parsed: list[list[Tree]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc=f"parsing {what}", unit=" texts", leave=False, mininterval=1.0)
    try:
        for trees in parser.iter_each(texts):
            parsed.append(_clean(trees))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if len(parsed) != len(texts):  # pragma: no cover - spaCy yields one Doc per text
        raise ParserError(f"spaCy gave {len(parsed)} parses for {len(texts)} texts")
    if cache:
        _write(path, key, name, parsed, log)
    return parsed

