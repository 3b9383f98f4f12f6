"""Where corpora and their caches live, and downloading a corpus archive: the one place
treernn fetches data from the network (SST, SICK), with a one-line error that names the other
ways to provide the data."""

from __future__ import annotations

import http.client
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from treernn.errors import CorpusError


def cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/treernn/NAME``, or ``~/.cache/treernn/NAME``: a relative
    ``$XDG_CACHE_HOME`` is ignored, as the XDG specification asks."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "treernn" / name


def one_line(reason: object) -> str:
    """``reason`` as one line (whitespace runs, newlines included, become one space)."""
    return " ".join(str(reason).split())


def fetch(url: str, out: Path, what: str, options: str, timeout: float = 60.0) -> None:
    """Copy ``url`` (``urllib``: ``file://`` works too) into the file ``out``.

    Raises:
        CorpusError: offline, a bad URL, an HTTP error: ``cannot download WHAT from URL: reason;
            OPTIONS`` on one line.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(out, "wb") as dst:
            shutil.copyfileobj(response, dst)
    except (OSError, ValueError, http.client.HTTPException) as err:
        if isinstance(err, urllib.error.HTTPError):
            reason: object = f"HTTP {err.code} {err.reason}"
        else:
            reason = getattr(err, "reason", None) or err
        raise CorpusError(f"cannot download {what} from {url}: {one_line(reason)}; {options}") from None
