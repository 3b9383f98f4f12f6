"""Does the server's memory grow with new words? ``treernn serve --model-processes 1`` gets
6 x 2,000 requests of one sentence each, 32 clients, every sentence with six made-up words
never seen before (72,000 new words in all); the RSS of each of the server's processes after
each run (MB). spaCy keeps every word it meets in its vocabulary; the server parses each batch
in a spaCy memory zone, which drops them afterwards.

    python benchmarks/serve_memory.py          # writes benchmarks/serve-memory.txt
"""

import asyncio
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import Server, load  # noqa: E402

rng = random.Random(0)


def word() -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(4))


def main() -> int:
    server = Server(["--model-processes", "1"], "cpu", 1)

    def rss() -> dict:
        out = {}
        for pid in server.pids():
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            out[pid] = int([line for line in status if line.startswith("VmRSS")][0].split()[1]) // 1024
        return out

    lines = [f"RSS (MB) per server process; {server.proc.pid} is the HTTP process",
             f"after start-up: {rss()}"]
    try:
        for i in range(6):
            texts = [f"The {word()} and the {word()} were {word()}, but {word()} {word()} the {word()}."
                     for _ in range(2000)]
            r = asyncio.run(load(server.url, texts, 32, 300))
            lines.append(f"after run {i + 1} ({r['requests']} requests, {r['errors']} errors, "
                         f"{r['sentences_per_s']:.0f} sentences/s): {rss()}")
            print(lines[-1], flush=True)
    finally:
        server.stop()
    Path(__file__).with_name("serve-memory.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
