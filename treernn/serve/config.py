"""The server's settings, in one typed place (the command line fills them; worker processes
get them as JSON). Nothing here imports torch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from treernn.errors import ServerError
from treernn.inputs import DEFAULT_MAX_CHARS, DEFAULT_MAX_TOKENS


@dataclass
class ServeConfig:
    """The server's settings (``treernn serve --help`` says what each does)."""

    model: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = 9000
    workers: int = 1
    threads: int = 1
    max_batch: int = 256
    max_wait_ms: float = 2.0
    max_chars: int = DEFAULT_MAX_CHARS  # 0: no limit
    max_tokens: int = DEFAULT_MAX_TOKENS  # 0: no limit
    timeout: float = 15.0
    max_queue: int = 8192
    max_concurrency: int = 1000  # requests handled at once per worker; past it 503
    device: str = "cpu"
    spacy_pipeline: Optional[str] = None
    model_worker: str = "process"  # or "thread": the model in a thread of the server's process
    model_processes: int = 0  # model processes per worker (batches in the models at once); 0: auto

    def check(self) -> "ServeConfig":
        for name in ("workers", "threads", "max_batch", "max_queue", "max_concurrency"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ServerError(f"--{name.replace('_', '-')} must be an integer >= 1, got {value!r}")
        for name in ("max_chars", "max_tokens", "model_processes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ServerError(f"--{name.replace('_', '-')} must be an integer >= 0 (0: no limit), got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ServerError(f"--port must be 0-65535, got {self.port}")
        if not self.max_wait_ms >= 0:
            raise ServerError(f"--max-wait-ms must be >= 0, got {self.max_wait_ms}")
        if self.model_worker not in ("process", "thread"):
            raise ServerError(f"--model-worker must be process or thread, got {self.model_worker!r}")
        if self.model_worker == "thread" and self.model_processes > 1:
            raise ServerError("--model-processes needs --model-worker process")
        if not self.timeout > 0:
            raise ServerError(f"--timeout must be > 0 seconds, got {self.timeout}")
        return self

    @property
    def processes(self) -> int:
        """Model processes per worker: ``model_processes``, or with 0 one per core (up to 4)
        shared among the workers; 1 with ``model_worker="thread"``."""
        if self.model_worker == "thread":
            return 1
        if self.model_processes:
            return self.model_processes
        return max(1, min(4, os.cpu_count() or 1) // self.workers)

    @property
    def model_name(self) -> str:
        return self.model if self.model else "the bundled SST model (sst-fine)"
