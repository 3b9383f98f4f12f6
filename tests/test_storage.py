"""Claim files: how experiment workers and tune's recovery tell a live process from a gone one."""

from __future__ import annotations

import subprocess
import sys

from treernn.storage import claim_file, process_alive


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_claim_is_taken_once_while_its_process_lives(tmp_path):
    path = tmp_path / "unit.claim"
    assert claim_file(path)
    assert path.read_text() == str(__import__("os").getpid())
    assert not claim_file(path)  # held by a live process (this one)


def test_a_claim_whose_process_is_gone_or_unreadable_is_taken_over(tmp_path):
    stale = tmp_path / "stale.claim"
    stale.write_text(str(_dead_pid()))
    assert claim_file(stale)
    garbage = tmp_path / "garbage.claim"
    garbage.write_text("not a pid")
    assert claim_file(garbage)


def test_process_alive():
    import os

    assert process_alive(os.getpid())
    assert not process_alive(_dead_pid())
    assert not process_alive(0) and not process_alive(-1)
