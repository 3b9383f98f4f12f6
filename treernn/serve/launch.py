"""Starting ``treernn serve`` as a child process and waiting until it answers: for scripts,
benchmarks and tests that need a real server.

The server prints one line when it is ready (``treernn serve: ready at URL ...``), or, with
``--workers N``, a ``starting N workers on URL`` line and then one ``worker PID ready`` line per
worker. :func:`start_server` reads those lines in a thread (which goes on draining the output,
so a server that writes more never blocks on a full pipe) and waits on a queue, so it never
waits past its timeout, whatever the server writes or withholds.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from typing import Optional, Sequence

from treernn.errors import ServerError


def _read_lines(stream, lines: "queue.Queue[Optional[str]]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)  # end of output: the process closed it or exited


def start_server(args: Sequence[str], timeout: float = 180.0) -> tuple[subprocess.Popen, str]:
    """Runs ``python -m treernn serve ARGS`` and returns ``(process, url)`` once the server,
    every worker of it, is ready. Its stdout is read here (text); its stderr is a pipe the
    caller may read.

    Raises:
        ServerError: the server exited, or was not ready within ``timeout`` seconds (then it
            is killed); the message ends with the end of its stderr.
    """
    proc = subprocess.Popen([sys.executable, "-m", "treernn", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + timeout
    url, workers = None, 0
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            why = f"not ready after {timeout:.0f} s"
            break
        if line is None:
            why = f"it exited with code {proc.wait()}"
            break
        if "ready at " in line:
            return proc, line.split("ready at ", 1)[1].split()[0]
        if " workers on " in line:
            workers = int(line.split("starting ", 1)[1].split()[0])
            url = line.split(" workers on ", 1)[1].split()[0]
        elif url is not None and line.rstrip().endswith(" ready"):
            workers -= 1
            if workers == 0:
                return proc, url
    proc.kill()
    proc.wait()
    tail = " | ".join(proc.stderr.read().strip().splitlines()[-5:])
    raise ServerError(f"treernn serve {' '.join(args)}: {why}: {tail or '(nothing on stderr)'}")


__all__ = ["start_server"]
