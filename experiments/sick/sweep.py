"""What moves dev Pearson r of the Dependency (Child-Sum) Tree-LSTM on SICK relatedness, from
the `compare sick` recipe (GloVe 6B 50-d held fixed, memory 150, similarity layer 50, AdaGrad
0.05, 10 epochs, patience 5): one change at a time, seeds 0 and 1, judged on dev only.

    python experiments/sick/sweep.py run &     # two one-thread processes share the runs
    python experiments/sick/sweep.py run &     # (claim files; resumable)
    python experiments/sick/sweep.py summary

Each run's metrics go to experiments/sick/sweep/<variant>-seed<k>.json as it finishes.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
OUT = Path(__file__).resolve().parent / "sweep"
RUNS = ROOT / "runs" / "sick-sweep"
BASE = {"data.corpus": "sick", "data.path": str(SHARED / "corpora" / "sick"),
        "data.vectors": str(SHARED / "vectors" / "glove.6B.50d.sick.txt"), "data.target": "relatedness",
        "model.encoder": "child-sum-tree-lstm", "model.hidden_dim": 150, "model.dropout": 0.0,
        "model.similarity_dim": 50, "data.freeze_embeddings": True, "trainer.progress": False, "run.device": "cpu"}
VARIANTS = {
    "recipe": {},
    "vectors-tuned": {"data.freeze_embeddings": False},
    "20-epochs": {"trainer.epochs": 20, "trainer.patience": None},
    "lr-0.1": {"trainer.lr": 0.1},
    "memory-300": {"model.hidden_dim": 300},
}
SEEDS = (0, 1)


def _claim(name: str) -> bool:
    from treernn.storage import claim_file

    return claim_file(OUT / f"{name}.claim")


def run() -> None:
    import torch

    from treernn.training.config import resolve_config
    from treernn.training.run import train

    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for seed in SEEDS:
        for variant, changes in VARIANTS.items():
            name = f"{variant}-seed{seed}"
            if (OUT / f"{name}.json").exists() or not _claim(name):
                continue
            settings = {**BASE, **changes, "trainer.seed": seed}
            resume = (RUNS / name / "trainer_state.json").exists()
            print(f"== {name}", flush=True)
            metrics = train(None if resume else resolve_config(None, list(settings.items())), RUNS / name,
                            resume=resume, log=lambda m: None)
            record = {"variant": variant, "seed": seed, "settings": settings, "dev": metrics["dev"],
                      "best_epoch": metrics["best_epoch"], "epochs_run": metrics["epochs_run"],
                      "train_seconds": metrics["train_seconds"]}
            (OUT / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
            (OUT / f"{name}.claim").unlink(missing_ok=True)
            print(f"   {name}: dev r {metrics['dev']['pearson']:.4f} (best epoch {metrics['best_epoch']})", flush=True)


def summary() -> None:
    print("| variant | seeds | dev Pearson r | best epochs |")
    print("|---|---|---|---|")
    for variant in VARIANTS:
        rs = [json.loads(p.read_text()) for p in sorted(OUT.glob(f"{variant}-seed*.json"))]
        if rs:
            r = [x["dev"]["pearson"] for x in rs]
            print(f"| {variant} | {len(rs)} | {statistics.fmean(r):.4f} ({min(r):.4f}-{max(r):.4f}) | "
                  f"{', '.join(str(x['best_epoch']) for x in rs)} |")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    {"run": run, "summary": summary}[sys.argv[1] if len(sys.argv) > 1 else "summary"]()
