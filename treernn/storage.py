"""Shared plumbing for files: atomic writes, JSON, safetensors with checksums, pickle refusal.

Nothing here unpickles: tensors go to safetensors, everything else to JSON. Every file is
written to a temporary name in the same directory, flushed to disk, then renamed, so a process
killed at any moment leaves either the old or the new file, never a torn one.

The lowest layer of treernn (it imports only :mod:`treernn.errors`); torch and safetensors are
imported by the functions that handle tensors, so writing a JSON file needs neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Union

from treernn.errors import CheckpointError

if TYPE_CHECKING:
    import torch

PathArg = Union[str, "os.PathLike[str]"]

#: Files that can hold a pickle; a directory holding one is refused, never loaded.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin")

def atomic_write_bytes(path: PathArg, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CheckpointError(f"cannot write in {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None


def atomic_write_json(path: PathArg, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


def read_json(path: PathArg) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from None


CHECKSUM_KEY = "treernn.sha256"


def _checksum(tensors: Mapping[str, "torch.Tensor"]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes, in name order."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_tensors(path: PathArg, tensors: Mapping[str, "torch.Tensor"], metadata: Mapping[str, str] | None = None) -> None:
    """Tensors to a safetensors file, atomically, with their checksum in the file's metadata
    (checked by :func:`load_tensors`)."""
    from safetensors.torch import save

    data = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = dict(metadata or {})
    meta[CHECKSUM_KEY] = _checksum(data)
    atomic_write_bytes(path, save(data, metadata=meta))


def _metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors file's header (the file is already known valid)."""
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + size]).get("__metadata__") or {}


def load_tensors(path: PathArg, device: Any = "cpu") -> dict[str, "torch.Tensor"]:
    """Tensors from a safetensors file; a missing or corrupt file is a :class:`CheckpointError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is not a valid safetensors file ({str(exc).splitlines()[0]})") from None
    stored = _metadata(data).get(CHECKSUM_KEY)
    if stored is not None and stored != _checksum(tensors):  # files from elsewhere may have none
        raise CheckpointError(f"{path} does not match its stored checksum (the file was changed or damaged)")
    return {k: v.to(device) for k, v in tensors.items()}


def refuse_pickles(directory: PathArg) -> None:
    """Refuse a model directory holding pickle files: a pickle can run code when loaded."""
    directory = Path(directory)
    found = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if found:
        raise CheckpointError(
            f"{directory} holds pickle files ({', '.join(found)}); treernn never loads pickles "
            f"(they can run code): use a directory written by treernn (safetensors + JSON)"
        )


def process_alive(pid: int) -> bool:
    """A process with this id runs on this machine (owned by anyone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def claim_file(path: PathArg) -> bool:
    """Take a unit of work for this process: ``path`` made atomically (``O_EXCL``) holding this
    process's id. False when a live process holds it; a claim whose process is gone (a stopped
    session, a killed worker) or that is unreadable is taken over. Several workers on one
    machine share units this way; the caller deletes the file when the unit is done."""
    path = Path(path)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = int(path.read_text() or 0)
            except (ValueError, OSError):
                holder = 0
            if process_alive(holder):
                return False
            path.unlink(missing_ok=True)  # its process is gone: take it over
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return True
    return False
