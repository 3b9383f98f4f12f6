"""Vocabulary: tokens <-> integer ids, with distinct PAD and UNK ids, and pretrained vectors."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional, Sequence

from treernn.errors import VocabError

PAD = "<pad>"
UNK = "<unk>"


class Vocab:
    """A token <-> id mapping. Id 0 is PAD, id 1 is UNK; unknown tokens map to UNK.

    Args:
        tokens: the known tokens, in id order (PAD and UNK are added in front).
        lowercase: lowercase every token before lookup (and when building).
    """

    pad_id = 0
    unk_id = 1

    def __init__(self, tokens: Iterable[str] = (), lowercase: bool = False) -> None:
        self.lowercase = lowercase
        self.itos: list[str] = [PAD, UNK]
        self.stoi: dict[str, int] = {PAD: 0, UNK: 1}
        for tok in tokens:
            self.add(tok)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_freq: int = 1,
        lowercase: bool = False,
        max_size: Optional[int] = None,
    ) -> "Vocab":
        """A vocabulary of the tokens seen at least ``min_freq`` times, most frequent first
        (ties in order of first appearance)."""
        if min_freq < 1:
            raise VocabError(f"min_freq must be >= 1, got {min_freq}")
        counts: Counter[str] = Counter()
        for sent in sentences:
            counts.update(t.lower() if lowercase else t for t in sent)
        kept = [t for t, c in counts.most_common() if c >= min_freq and t not in (PAD, UNK)]
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, lowercase=lowercase)

    def normalize(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def add(self, token: str) -> int:
        """Add ``token`` (if new) and return its id."""
        token = self.normalize(token)
        idx = self.stoi.get(token)
        if idx is None:
            idx = len(self.itos)
            self.itos.append(token)
            self.stoi[token] = idx
        return idx

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return self.normalize(token) in self.stoi

    def lookup(self, token: str) -> int:
        """The id of ``token``, UNK's id when unknown."""
        return self.stoi.get(self.normalize(token), self.unk_id)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens`` (UNK for unknown ones)."""
        get, unk = self.stoi.get, self.unk_id
        if self.lowercase:
            return [get(t.lower(), unk) for t in tokens]
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]
