"""The examples of the README and the manual (``docs/``): fenced blocks and inline command lines,
read the way a reader sees them. No conftest.py here: the tests import this module by name.

A block may be preceded by a marker comment, ``<!-- example: WHAT -->``, saying what it needs:
``server`` (a running ``treernn serve``: the test starts one and points the block's
``http://127.0.0.1:9000`` at it) or ``model-dir PATH`` (a trained model directory at PATH: the
test puts a copy of the bundled model there). A collector of our own rather than
``pytest-examples``: that one lints and formats blocks (ruff, black) and has no notion of a block
that needs a server, while what is wanted here is to run each block as a reader would and to
check shell lines against treernn's own argument parser.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!--\s*example:\s*(.*?)\s*-->$")
INLINE_COMMAND = re.compile(r"`(treernn [^`]+)`")
SYNOPSIS = ("[", "|", "...", "…")  # a usage synopsis, not a command line


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: Optional[str]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """README.md, CHANGELOG.md and every page of the manual."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang, start = lines[i][3:].strip(), i
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            before = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            m = MARKER.match(before)
            yield Block(path, start + 1, lang, "\n".join(lines[start + 1:j]) + "\n", m.group(1) if m else None)
            i = j
        i += 1


def prose(path: Path) -> str:
    """The page without its fenced blocks."""
    out, fence = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            out.append(line)
    return "\n".join(out)


def inline_commands(path: Path) -> list[str]:
    """Complete ``treernn ...`` command lines quoted in the prose (synopses left out)."""
    found = []
    for m in INLINE_COMMAND.finditer(prose(path)):
        text = " ".join(m.group(1).split())
        if len(text.split()) > 2 and not any(s in text for s in SYNOPSIS):  # `treernn compare`: a name
            found.append(text)
    return found


def shell_commands(code: str) -> list[list[str]]:
    """Each simple command of a shell block as words: continuations joined, comments dropped,
    split at pipes, redirections, ``&&``, ``;`` and ``&``; environment assignments removed."""
    joined = re.sub(r"\\\n", " ", code)
    commands = []
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words, current, skip_next = list(lexer), [], False
        for word in words + [";"]:
            if skip_next:
                skip_next = False
                continue
            if word in ("<", ">", ">>", "2>", "<<"):
                skip_next = True  # the file of a redirection
                continue
            if set(word) <= set("|&;"):
                if current:
                    commands.append(current)
                current = []
                continue
            if not current and re.match(r"^[A-Z_][A-Z0-9_]*=", word):
                continue
            current.append(word)
    return commands


def treernn_arguments(words: list[str]) -> Optional[list[str]]:
    """The arguments a shell command passes to treernn, or None when it does not run treernn."""
    if words[0] == "treernn" or words[0].endswith("/treernn"):
        return words[1:]
    if "-m" in words:
        k = words.index("-m")
        if k + 1 < len(words) and words[k + 1] == "treernn":
            return words[k + 2:]
    return None
