"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SST_DIR = SHARED / "corpora" / "sst"
VECTORS_DIR = SHARED / "vectors"
GRAMMARS = ROOT / "corpora" / "grammars"


@pytest.fixture(scope="session")
def sst_dir() -> Path:
    if not (SST_DIR / "train.txt").exists():
        pytest.skip(f"shared SST corpus not found at {SST_DIR}")
    return SST_DIR


@pytest.fixture(scope="session")
def sick_dir() -> Path:
    if not (SHARED / "corpora" / "sick" / "SICK.txt").exists():
        pytest.skip(f"shared SICK corpus not found at {SHARED / 'corpora' / 'sick'}")
    return SHARED / "corpora" / "sick"


@pytest.fixture(scope="session")
def nlp():
    """The spaCy English pipeline, loaded once."""
    from treernn.parsing import load_spacy

    return load_spacy()
