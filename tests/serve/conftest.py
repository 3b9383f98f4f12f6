"""The real server, started once for the package's tests (see servers.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from servers import ServerProcess


@pytest.fixture(scope="package")
def server() -> Iterator[ServerProcess]:
    """The real server with the bundled model and the default settings."""
    s = ServerProcess([])
    yield s
    s.stop()
