"""The own-data measurements of docs/own-data.md, resumable.

    python experiments/own-data/run.py prepare       # SST's binary sentences as CSV files
    python experiments/own-data/run.py parse-bench   # parsing 10,000 sentences: 1, 2 processes, cached
                                                     # (each a fresh process; a quiet machine)
    python experiments/own-data/run.py table &       # the 5-seed table: two one-thread processes
    python experiments/own-data/run.py table &       # share the runs (claim files), resumable
    python experiments/own-data/run.py summary       # the table from what is on disk

``prepare`` writes ``runs/own-data/sst-binary/{train,dev,test}.csv``: every SST sentence whose
root is not neutral, its tokens joined into text (PTB escapes undone, the space before
punctuation and clitics removed, `` and '' as "), and its root label (negative / positive):
what a user with labeled sentences holds. ``table`` trains, for seeds 0-4, the Tree-LSTM and
the BiLSTM on that CSV (spaCy parses, root labels only) and on SST's gold trees with the root
labels only (``model.loss_on root``), all with GloVe 6B 50-d and the same settings; each run's
metrics go to ``experiments/own-data/runs/<run>.json`` as it finishes, and a finished run is
never trained again.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SST = SHARED / "corpora" / "sst"
VECTORS = SHARED / "vectors" / "glove.6B.50d.sst.txt"
DATA = ROOT / "runs" / "own-data" / "sst-binary"
RUNS = ROOT / "runs" / "own-data" / "runs"
RESULTS = Path(__file__).resolve().parent / "runs"
SEEDS = range(5)
MODELS = {"tree-lstm": {"model.encoder": "tree-lstm", "model.hidden_dim": 150},
          "bilstm": {"model.encoder": "bilstm", "model.hidden_dim": 168}}
CONDITIONS = {
    "text": {"data.corpus": f"text:{DATA}"},
    "gold": {"data.corpus": "sst", "data.path": str(SST), "data.classes": 2, "data.neutral_phrases": False,
             "model.loss_on": "root"},
}


def detokenize(tokens: list[str]) -> str:
    """SST's PTB tokens as running text."""
    from treernn.trees import unescape_token

    text = " ".join(unescape_token(t) for t in tokens)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([,.!?;:%)\]}]|'s|'re|'ve|'ll|'d|'m|n't)\b", r"\1", text)
    text = re.sub(r" ([,.!?;:%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    return text


def prepare() -> None:
    from treernn.corpora import load_sst

    sst = load_sst(SST, classes=2)
    DATA.mkdir(parents=True, exist_ok=True)
    for split, trees in sst.splits().items():
        with open(DATA / f"{split}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            for tree in trees:
                writer.writerow([detokenize(tree.tokens()), ("negative", "positive")[tree.label]])
        print(f"{DATA / f'{split}.csv'}: {len(trees)} sentences")


def parse_bench(n: int = 10_000) -> None:
    """Parse the first ``n`` of SST's 11,855 sentences (as text, train first) with 1 and 2 spaCy
    processes, each into an empty cache, then read them from the cache, as a second run does.
    Each measurement is a fresh process (``_time_parse``), timed around the parse alone (the
    pipeline is loaded first): what ``treernn train`` pays the first and the second time."""
    import shutil
    import subprocess
    import tempfile

    cache = Path(tempfile.mkdtemp(prefix="treernn-parse-bench-"))
    out: dict = {"sentences": n, "pipeline": "en_core_web_sm 3.8.0 (tagger, NER, lemmatizer left out)"}
    try:
        for name, processes, home in (("parse_1_process_s", 1, "p1"), ("parse_2_process_s", 2, "p2"),
                                       ("cached_s", 1, "p2")):
            r = subprocess.run([sys.executable, __file__, "time-parse", "--n", str(n), "--processes", str(processes),
                                "--cache", str(cache / home)], capture_output=True, text=True, check=True)
            out[name] = float(r.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for k in (1, 2):
        out[f"sentences_per_s_{k}"] = round(n / out[f"parse_{k}_process_s"])
    out["cached_speedup_vs_1_process"] = round(out["parse_1_process_s"] / out["cached_s"], 1)
    out["date"] = time.strftime("%Y-%m-%d")
    path = Path(__file__).resolve().parent / "parse-throughput.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


def _time_parse(n: int, processes: int, cache: str) -> None:
    import gc
    import os

    os.environ["XDG_CACHE_HOME"] = cache
    from treernn.corpora import load_sst
    from treernn.corpora.parse_cache import parse_texts
    from treernn.parsing import load_spacy

    sst = load_sst(SST, classes=5)  # every sentence, neutral ones too: 11,855
    texts = [detokenize(t.tokens()) for split in ("train", "dev", "test") for t in sst[split]][:n]
    del sst  # a run holds the texts it read, not SST's 440,000 tree nodes
    gc.collect()
    load_spacy()  # loading the pipeline is not parsing
    start = time.perf_counter()
    parse_texts(texts, processes=processes, progress=False)
    print(round(time.perf_counter() - start, 3))


def runs() -> list[tuple[str, str, int]]:
    return [(cond, model, seed) for seed in SEEDS for cond in CONDITIONS for model in MODELS]


def _claim(name: str) -> bool:
    """Take run ``name`` for this process (a claim file, taken over when its worker is gone: a
    stopped session); so two workers share the runs evenly."""
    from treernn.storage import claim_file

    return claim_file(RESULTS / f"{name}.claim")


def table() -> None:
    import torch

    from treernn.training.config import resolve_config
    from treernn.training.run import train

    torch.set_num_threads(1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for cond, model, seed in runs():
        name = f"{cond}-{model}-seed{seed}"
        if (RESULTS / f"{name}.json").exists() or not _claim(name):
            continue
        settings = {**CONDITIONS[cond], **MODELS[model], "data.vectors": str(VECTORS), "trainer.seed": seed,
                    "trainer.progress": False, "run.device": "cpu"}
        config = resolve_config(None, list(settings.items()))
        resume = (RUNS / name / "trainer_state.json").exists()  # a run a stopped session left half done
        print(f"== {name}" + (" (resumed)" if resume else ""), flush=True)
        metrics = train(None if resume else config, RUNS / name, resume=resume, log=lambda m: None)
        record = {"condition": cond, "model": model, "seed": seed, "settings": settings,
                  "dev": metrics["dev"]["accuracy"], "test": metrics["test"]["accuracy"],
                  "test_sentences": metrics["test"]["sentences"], "best_epoch": metrics["best_epoch"],
                  "epochs_run": metrics["epochs_run"], "train_seconds": metrics["train_seconds"],
                  "parameters": metrics["parameters"]}
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        (RESULTS / f"{name}.claim").unlink(missing_ok=True)
        print(f"   {name}: dev {record['dev']:.4f} test {record['test']:.4f} ({record['train_seconds']:.0f} s)",
              flush=True)


def summary() -> None:
    rows = {}
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        rows.setdefault((r["model"], r["condition"]), []).append(r)
    print("| model | data (root labels only) | seeds | dev | test | s/run |")
    print("|---|---|---|---|---|---|")
    for model in MODELS:
        for cond, what in (("gold", "SST's gold trees (BiLSTM: their tokens)"),
                           ("text", "the CSV: spaCy's parses (BiLSTM: its tokens)")):
            rs = rows.get((model, cond), [])
            if not rs:
                continue

            def fmt(key):
                v = [100 * r[key] for r in rs]
                sd = statistics.stdev(v) if len(v) > 1 else 0.0
                return f"{statistics.fmean(v):.1f} ± {sd:.1f} ({min(v):.1f}-{max(v):.1f})"

            print(f"| {model} | {what} | {len(rs)} | {fmt('dev')} | {fmt('test')} | "
                  f"{statistics.fmean(r['train_seconds'] for r in rs):.0f} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["prepare", "parse-bench", "table", "summary", "time-parse"])
    p.add_argument("--n", type=int, default=10_000, help=argparse.SUPPRESS)
    p.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--cache", help=argparse.SUPPRESS)
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.step == "prepare":
        prepare()
    elif args.step == "parse-bench":
        parse_bench()
    elif args.step == "time-parse":
        _time_parse(args.n, args.processes, args.cache)
    elif args.step == "table":
        table()
    else:
        summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
