"""How much a vector file can tell SST's words apart: distinct vectors, the largest groups of
words sharing one vector, and which sentiment words share theirs.

    .venv/bin/python experiments/sst/vector_stats.py ../shared/vectors/*.txt > experiments/sst/vector_stats.json

spaCy's en_core_web_md keeps 20k distinct vectors for 500k keys (pruned: every other key points
at its nearest kept vector), so many SST words share one vector; GloVe gives every word its own.
"""

from __future__ import annotations

import collections
import json
import sys

WORDS = ["good", "bad", "great", "awful", "terrible", "wonderful", "boring", "brilliant",
         "mediocre", "masterpiece", "not", "funny", "dull", "best", "worst"]


def stats(path: str) -> dict:
    groups: dict[bytes, list[str]] = collections.defaultdict(list)
    vector_of: dict[str, bytes] = {}
    with open(path, "rb") as f:
        for line in f:
            word, _, numbers = line.rstrip(b"\n").partition(b" ")
            w = word.decode("utf-8", "replace")
            groups[numbers].append(w)
            vector_of[w] = numbers
    sizes = sorted((len(g) for g in groups.values()), reverse=True)
    shared_words = sum(s for s in sizes if s > 1)
    return {
        "file": path,
        "words": len(vector_of),
        "distinct_vectors": len(groups),
        "words_sharing_a_vector": shared_words,
        "largest_groups": [sorted(g)[:15] + ([f"... {len(g)} words"] if len(g) > 15 else [])
                           for g in sorted(groups.values(), key=len, reverse=True)[:3]],
        "sentiment_words": {w: {"words_with_the_same_vector": len(groups[vector_of[w]]),
                                "for_example": sorted(x for x in groups[vector_of[w]] if x != w)[:8]}
                            for w in WORDS if w in vector_of},
        "good_bad_same_vector": vector_of.get("good") == vector_of.get("bad") is not None,
    }


if __name__ == "__main__":
    print(json.dumps([stats(p) for p in sys.argv[1:]], indent=2, ensure_ascii=False))
