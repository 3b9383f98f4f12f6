"""Seconds per training epoch of the Dependency (Child-Sum) Tree-LSTM pair model on SICK's 4,439
training pairs (the `compare sick` recipe: E 50 fixed vectors, memory 150, batch 25, AdaGrad), on
1 and 2 torch threads; each figure the median of 3 epochs after a warm-up epoch, the parse from
the cache. Run it on a quiet machine:

    python experiments/sick/epoch_time.py      # writes experiments/sick/epoch-time.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import torch

    from treernn.training.config import resolve_config
    from treernn.training.run import load_data, prepare_data
    from treernn.models.build import build_model
    from treernn.models.config import ModelConfig
    from treernn.training.trainer import Trainer, clip_grad_norm, seed_everything
    from treernn.vocab import Vocab, load_vectors

    vectors = str(SHARED / "vectors" / "glove.6B.50d.sick.txt")
    config = resolve_config(None, [("data.corpus", "sick"), ("data.path", str(SHARED / "corpora" / "sick")),
                                   ("data.vectors", vectors), ("model.encoder", "child-sum-tree-lstm"),
                                   ("model.hidden_dim", 150), ("model.dropout", 0.0),
                                   ("data.freeze_embeddings", True), ("trainer.progress", False),
                                   ("run.device", "cpu")])
    seed_everything(0)
    dataset = load_data(config.data, log=lambda m: None, progress=False)
    train = prepare_data(dataset, "child-sum-tree-lstm")["train"]
    vocab = Vocab.build((p.tokens() for p in train), lowercase=True)
    weights, _ = load_vectors(vectors, vocab, 50, seed=0)
    out = {"pairs": len(train), "batch_size": 25, "note": "median of 3 epochs after 1 warm-up; the trainer's step (AdaGrad, SGD on no embeddings: fixed, clipping at 5), no dev evaluation"}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model_cfg = ModelConfig(encoder="child-sum-tree-lstm", input_dim=50, hidden_dim=150, dropout=0.0,
                                vocab_size=len(vocab), num_classes=5, label_names=dataset.label_names,
                                task="relatedness")
        model = build_model(model_cfg, vocab)
        model.encoder.embedding.weight.data.copy_(torch.from_numpy(weights))
        model.encoder.embedding.weight.requires_grad_(False)
        trainer = Trainer(model, config.trainer, None, log=lambda m: None)
        planned = model.plan(train, vocab)
        times = []
        for epoch in range(4):
            start = time.perf_counter()
            order = torch.randperm(len(planned), generator=torch.Generator().manual_seed(epoch)).tolist()
            for b0 in range(0, len(order), 25):
                batch, targets = model.make_batch([planned[i] for i in order[b0:b0 + 25]], vocab)
                outputs = model(batch, targets)
                for opt in trainer.optimizers:
                    opt.zero_grad(set_to_none=True)
                outputs.loss.backward()
                clip_grad_norm(model.parameters(), config.trainer.clip_norm)  # as the trainer does
                for opt in trainer.optimizers:
                    opt.step()
            if epoch:
                times.append(time.perf_counter() - start)
        out[f"epoch_s_{threads}_thread"] = round(statistics.median(times), 2)
        print(f"{threads} thread(s): {out[f'epoch_s_{threads}_thread']} s per epoch", flush=True)
    out["date"] = time.strftime("%Y-%m-%d")
    (Path(__file__).resolve().parent / "epoch-time.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
