"""Training and evaluation runs: data preparation, metrics, and the functions behind
``treernn train`` and ``treernn evaluate``. The configuration is a
:class:`~treernn.training.config.RunConfig` (:mod:`treernn.training.config`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from treernn.corpora.dataset import Pair
from treernn.corpora.tasks import Dataset, labeled_phrases, load_task
from treernn.device import pick_device
from treernn.errors import ConfigError, TreernnError
from treernn.models.build import build_model, load_model_dir, prepare_tree
from treernn.models.config import ModelConfig
from treernn.models.directory import CONFIG, METRICS, read_model_dir, read_weights, write_model_files
from treernn.resources import bundled_model_dir
from treernn.storage import atomic_write_bytes, atomic_write_json, read_json
from treernn.training import checkpoint as ckpt
from treernn.training import distributed
from treernn.training.config import DataConfig, RunConfig
from treernn.training.metrics import mse, pearson, spearman
from treernn.training.trainer import Trainer, seed_everything
from treernn.trees import Tree
from treernn.vocab import Vocab, load_vectors, vector_file_info

#: A text corpus's run directory: the files read, the split and the item ids of each part.
SPLIT = "split.json"
#: Each test item's prediction with the best weights (written by :func:`train`).
PREDICTIONS = "predictions-test.jsonl"


# ---------------------------------------------------------------------------------- metrics
@torch.no_grad()
def predict_batches(model, trees: Sequence, vocab, device, batch_size: int = 256):
    """Yield (items, output, targets) per batch of ``trees`` (or pairs), in order, model in eval mode."""
    was_training = model.training
    model.eval()
    try:
        for b0 in range(0, len(trees), batch_size):
            chunk = trees[b0:b0 + batch_size]
            batch, targets = model.make_batch(chunk, vocab, device)
            yield chunk, model(batch, targets), targets
    finally:
        model.train(was_training)


def evaluate(model, trees: Sequence[Tree], vocab, device, batch_size: int = 256,
             ambiguous: Optional[Sequence[bool]] = None) -> dict:
    """Metrics of ``model`` on ``trees``:

    - ``accuracy``: sentence (root) accuracy over sentences with a root label;
    - ``phrase_accuracy``: over every labeled node (tree models only);
    - ``ambiguous_accuracy``: root accuracy on the items flagged ambiguous (when given);
    - ``loss``: mean cross-entropy per batch item.
    """
    right = total = p_right = p_total = 0
    amb_right = amb_total = 0
    loss_sum = 0.0
    i = 0
    for chunk, out, targets in predict_batches(model, trees, vocab, device, batch_size):
        pred = model.predict_sentences(out.logits)  # (B,)
        gold = torch.tensor([t.label if t.label is not None else -1 for t in chunk], device=pred.device)
        ok = (pred == gold) & (gold >= 0)
        right += int(ok.sum())
        total += int((gold >= 0).sum())
        if out.node_logits is not None:
            npred = out.node_logits.argmax(-1)
            labeled = targets >= 0
            p_right += int(((npred == targets) & labeled).sum())
            p_total += int(labeled.sum())
        if ambiguous is not None:
            flags = torch.tensor(ambiguous[i:i + len(chunk)], device=pred.device)
            amb_right += int((ok & flags).sum())
            amb_total += int((flags & (gold >= 0)).sum())
        if out.loss is not None:
            loss_sum += float(out.loss) * len(chunk)
        i += len(chunk)
    metrics = {"accuracy": right / max(total, 1), "sentences": total, "loss": loss_sum / max(len(trees), 1)}
    if p_total:
        metrics["phrase_accuracy"] = p_right / p_total
    if ambiguous is not None:
        metrics["ambiguous_accuracy"] = amb_right / max(amb_total, 1)
        metrics["ambiguous_sentences"] = amb_total
    return metrics


# ---------------------------------------------------------------------------------- training
def load_data(data: DataConfig, corpus: Optional[str] = None, path: Optional[str] = None,
              log: Callable[[str], None] = print, progress: bool = True,
              label_names: Optional[list[str]] = None) -> Dataset:
    """The task of a ``[data]`` section (``corpus`` / ``path`` replace its own): the one way
    ``train``, ``evaluate`` and ``compare`` read their data. ``label_names``: a trained
    model's classes, which a text corpus then uses instead of its training file's."""
    return load_task(corpus or data.corpus, path or data.path, data.classes, data.skip_bad,
                     dependency=data.parse == "spacy" and (corpus or data.corpus) == "sst",
                     neutral_phrases=data.neutral_phrases, parse_processes=data.parse_processes,
                     text=data.text_options(progress, label_names), log=log, target=data.target,
                     score_range=data.score_range)


def prepare_data(dataset, encoder: str) -> dict[str, list]:
    """Every split's trees (both trees of each pair) prepared for ``encoder`` (binarized where it
    needs binary trees)."""
    if dataset.pair_task is not None:
        return {split: [Pair(prepare_tree(p.left, encoder), prepare_tree(p.right, encoder), p.score, p.label)
                        for p in pairs] for split, pairs in dataset.splits.items()}
    return {split: [prepare_tree(t, encoder) for t in trees] for split, trees in dataset.splits.items()}


@torch.no_grad()
def evaluate_pairs(model, pairs: Sequence[Pair], vocab, device, batch_size: int = 256, score_low: int = 1) -> dict:
    """Metrics of a pair model: relatedness: Pearson's r, Spearman's rho and MSE of the predicted
    scores (on the file's scale: ``score_low`` is class 1); classes: accuracy. ``loss`` the mean
    loss per pair."""
    predicted, gold, right, loss_sum = [], [], 0, 0.0
    for chunk, out, targets in predict_batches(model, pairs, vocab, device, batch_size):
        loss_sum += float(out.loss) * len(chunk)
        if model.task == "relatedness":
            predicted += (out.scores + (score_low - 1)).tolist()
            gold += [p.score + score_low - 1 for p in chunk]
        else:
            right += int((out.logits.argmax(-1) == targets).sum())
    metrics: dict = {"pairs": len(pairs), "loss": loss_sum / max(len(pairs), 1)}
    if model.task == "relatedness":
        metrics.update(pearson=pearson(predicted, gold), spearman=spearman(predicted, gold), mse=mse(predicted, gold))
    else:
        metrics["accuracy"] = right / max(len(pairs), 1)
    return metrics


@torch.no_grad()
def item_predictions(model, items: Sequence, vocab, device, dataset: Dataset, split: str,
                     batch_size: int = 256) -> list[dict]:
    """Each item's prediction, in order: ``index`` (and ``id`` for text corpora), ``gold`` and
    ``predicted`` (class names; relatedness: scores on the file's scale), ``correct`` (classes,
    when the item has a gold label); what :mod:`treernn.training.significance` tests on."""
    names = dataset.label_names
    ids = dataset.item_ids.get(split)
    rows: list[dict] = []
    for chunk, out, _ in predict_batches(model, items, vocab, device, batch_size):
        if dataset.pair_task == "relatedness":
            scores = (out.scores + (dataset.score_low - 1)).tolist()
            got = [(p.score + dataset.score_low - 1, round(s, 6)) for p, s in zip(chunk, scores)]
        else:
            pred = (out.logits.argmax(-1) if dataset.pair_task else model.predict_sentences(out.logits)).tolist()
            gold = [p.label for p in chunk]  # a tree's root label, a pair's class (None: unlabeled)
            got = [(None if g is None else names[g], names[k]) for g, k in zip(gold, pred)]
        for gold_value, predicted in got:
            row = {"index": len(rows)}
            if ids is not None:
                row["id"] = ids[len(rows)]
            row.update(gold=gold_value, predicted=predicted)
            if dataset.pair_task != "relatedness" and gold_value is not None:
                row["correct"] = gold_value == predicted
            rows.append(row)
    return rows


def write_predictions(path: Path, rows: Sequence[dict]) -> None:
    """``rows`` as JSON lines (UTF-8, written whole or not at all)."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    atomic_write_bytes(Path(path), text.encode("utf-8"))


def evaluate_any(model, items: Sequence, vocab, device, dataset: Dataset, split: str) -> dict:
    """:func:`evaluate` for sentence tasks, :func:`evaluate_pairs` for pair tasks."""
    if dataset.pair_task is not None:
        return evaluate_pairs(model, items, vocab, device, score_low=dataset.score_low)
    return evaluate(model, items, vocab, device, ambiguous=dataset.ambiguous.get(split))


def train(config: Optional[RunConfig], out_dir: Path, resume: bool = False,
          log: Callable[[str], None] = print, on_epoch: Optional[Callable[[dict], None]] = None) -> dict:
    """Train one model as ``config`` says and write its model directory; returns metrics.
    With ``resume``, the configuration saved in ``out_dir`` is used (``config`` may be None).
    ``on_epoch``: called with each epoch's log record (see :meth:`Trainer.fit`).

    Launched by ``torchrun`` (or with ``run.distributed``), each process trains on its share
    of every batch (:mod:`treernn.training.distributed`); rank 0 writes the directory."""
    out_dir = Path(out_dir)
    if resume:
        if not (out_dir / ckpt.TRAINER_STATE).exists():
            raise ConfigError(f"nothing to resume in {out_dir}: no {ckpt.TRAINER_STATE} (the run "
                              "stopped before its first epoch ended; start it again without --resume)")
        config = RunConfig.from_dict(read_json(out_dir / CONFIG)["resolved_config"], str(out_dir / CONFIG))
    if config is None:
        raise ConfigError("train() needs a RunConfig, got None; build one with resolve_config()")
    config.check()
    device = pick_device(config.run.device)
    context = distributed.setup(config.run.device, required=config.run.distributed)
    try:
        return _train(config, distributed.device_for(context, device), out_dir,
                      resume, log if context is None or context.is_main else (lambda m: None), context, on_epoch)
    finally:
        distributed.cleanup(context)


def write_split(out_dir: Path, dataset: Dataset) -> None:
    """``split.json``: the files a text corpus was read from (with their SHA-256), the split and
    the item ids of every part, so a run's data can be inspected and rebuilt."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(out_dir) / SPLIT, {"corpus": dataset.name, "sources": dataset.sources,
                                              "labels": dataset.label_names, "phrases": dataset.phrases,
                                              "counts": {s: len(ids) for s, ids in dataset.item_ids.items()},
                                              "ids": dataset.item_ids})


def _note_changed_files(directory: Path, dataset: Dataset, log: Callable[[str], None]) -> None:
    """Say when a text corpus's file is not the one the model was trained on (its SHA-256 in
    ``split.json`` differs): the split rebuilt from it may not be the training split."""
    if not dataset.sources or not (directory / SPLIT).is_file():
        return
    try:
        saved = read_json(directory / SPLIT).get("sources", {})
    except TreernnError:
        return
    pairs = [(saved, dataset.sources)] if "file" in dataset.sources else \
        [(saved.get(s, {}), dataset.sources[s]) for s in dataset.sources]
    for before, now in pairs:
        if before.get("file") == now.get("file") and before.get("sha256") != now.get("sha256"):
            log(f"note: {now['file']} changed since training (its SHA-256 differs from {directory / SPLIT}): "
                f"the split rebuilt from it may not be the one the model was trained and selected on")


def embedding_settings(config: RunConfig) -> tuple[int, bool]:
    """(E, lowercase) of a run: each as set, else from the vectors file (its size; lowercase
    when its words are all lowercase, as GloVe 6B's), else 300 and false.

    Raises:
        ConfigError: ``model.input_dim`` set to another size than the vectors file's.
        VocabError: an unreadable vectors file.
    """
    dim, lowercase = config.model.input_dim, config.data.lowercase
    if not config.data.vectors:
        return config.model.embedding_dim, bool(lowercase)
    info = vector_file_info(config.data.vectors)
    if dim is not None and dim != info.dim:
        raise ConfigError(f"model.input_dim does not fit the vectors, got {dim} for {info.dim}-d vectors in "
                          f"{config.data.vectors}; leave --model.input_dim out (it follows the file) or "
                          f"set it to {info.dim}")
    return info.dim, info.lowercase_only if lowercase is None else lowercase


@dataclass
class Source:
    """The trained model a fine-tuning run starts from (``run.init_from``)."""

    directory: Path
    config: ModelConfig
    vocab: Vocab
    weights: dict


def read_source(init_from: str) -> Source:
    """The model of ``run.init_from``: a model directory, or ``bundled`` (the bundled model)."""
    directory = bundled_model_dir() if init_from == "bundled" else Path(init_from)
    model_cfg, vocab, weights, _ = read_model_dir(directory)
    return Source(directory, model_cfg, vocab, weights)


def _grown_vocab(source: Source, vocab: Vocab) -> Vocab:
    """The source's vocabulary, then the new data's words it lacks (in their order)."""
    known = set(source.vocab.itos)
    return Vocab(source.vocab.itos[2:] + [w for w in vocab.itos[2:] if w not in known],
                 lowercase=source.vocab.lowercase)


def _load_source_weights(model, source: Source, keep_head: bool) -> None:
    """The source's weights into ``model``: every tensor, the embedding rows of the source's
    words, and the classifier only when ``keep_head``."""
    state = model.state_dict()
    for name, value in source.weights.items():
        if name.startswith("head.") and not keep_head:
            continue
        if name == "encoder.embedding.weight":
            state[name][:value.shape[0]] = value
        elif name in state and state[name].shape == value.shape:
            state[name].copy_(value)
        else:
            raise ConfigError(f"run.init_from: {source.directory} has {name} of shape {tuple(value.shape)}, "
                              f"which this model does not take; fine-tune with the source's model settings")
    model.load_state_dict(state)


def _train(config: RunConfig, device, out_dir, resume, log, context, on_epoch=None) -> dict:
    data_cfg, train_cfg = config.data, config.trainer
    seed_everything(train_cfg.seed)
    source = read_source(config.run.init_from) if config.run.init_from else None
    if source is not None:  # the source's model, whatever [model] says
        config.model = ModelConfig(**{k: getattr(source.config, k) for k in ModelConfig.settings()})
        log(f"fine-tuning {source.config.encoder} (E={source.config.embedding_dim}, H={source.config.hidden_dim}) "
            f"from {source.directory}")
        if config.data.vectors and vector_file_info(config.data.vectors).dim != source.config.embedding_dim:
            raise ConfigError(f"data.vectors has {vector_file_info(config.data.vectors).dim}-d vectors, got "
                              f"{config.data.vectors}; the model of {source.directory} reads "
                              f"{source.config.embedding_dim}-d ones")
        input_dim, lowercase = source.config.embedding_dim, source.vocab.lowercase
    else:
        input_dim, lowercase = embedding_settings(config)
    dataset = load_data(data_cfg, log=log, progress=train_cfg.progress)
    source_names = list(source.config.label_names or []) if source is not None else []
    if source is not None and set(dataset.label_names) <= set(source_names) and dataset.sentence_classes is None \
            and dataset.pair_task is None:
        dataset = dataset.relabeled(source_names)  # the source's classes: its classifier is kept
    if dataset.item_ids and (context is None or context.is_main):
        write_split(out_dir, dataset)
    splits = prepare_data(dataset, config.model.encoder)
    vocab = Vocab.build((t.tokens() for t in splits["train"]), min_freq=data_cfg.min_freq,
                        lowercase=lowercase)
    if source is not None:
        vocab = _grown_vocab(source, vocab)
        log(f"vocabulary: {len(source.vocab):,} words of the source, {len(vocab) - len(source.vocab):,} new "
            f"from the training data")
    coverage, vectors = None, None
    if data_cfg.vectors:
        train_size = len(vocab)
        if data_cfg.vocab_from_vectors:
            for name, trees in splits.items():
                if name != "train":
                    for tree in trees:
                        for token in tree.tokens():
                            vocab.add(token)
        vectors, coverage = load_vectors(data_cfg.vectors, vocab, input_dim,
                                         seed=train_cfg.seed)
        if len(vocab) > train_size:  # keep the other splits' words that have a vector
            keep = list(range(train_size)) + [i for i in range(train_size, len(vocab)) if i in coverage.found_ids]
            vocab = Vocab(vocab.itos[2:train_size] + [vocab.itos[i] for i in keep[train_size:]],
                          lowercase=vocab.lowercase)
            vectors = vectors[keep]
            log(f"{len(keep) - train_size:,} words of dev/test with a pretrained vector join the vocabulary")
        log(str(coverage))
    settings = {k: getattr(config.model, k) for k in ModelConfig.settings()}
    model_cfg = ModelConfig(**{**settings, "input_dim": input_dim}, vocab_size=len(vocab), num_classes=dataset.num_classes,
                            label_names=dataset.label_names, sentence_classes=dataset.sentence_classes,
                            task=dataset.pair_task)
    if dataset.pair_task == "relatedness" and train_cfg.select_metric == "accuracy":
        train_cfg = replace(train_cfg, select_metric="pearson")  # dev Pearson picks the epoch, as Tai et al.
        log("relatedness: the best epoch is the one of the highest dev Pearson r")
    model = build_model(model_cfg, vocab)
    if vectors is not None:
        model.encoder.embedding.weight.data.copy_(torch.from_numpy(vectors))
    elif data_cfg.random_vectors_range is not None:  # seeded: seed_everything above
        r = data_cfg.random_vectors_range
        with torch.no_grad():
            model.encoder.embedding.weight.uniform_(-r, r)
            model.encoder.embedding.weight[vocab.pad_id].zero_()
    keep_head = source is not None and source_names == list(dataset.label_names)
    if source is not None:
        _load_source_weights(model, source, keep_head)
        if not keep_head:
            log(f"note: the classifier of {source.directory} ({', '.join(map(str, source.config.label_names or []))}) "
                f"is replaced by a new one for this data's labels ({', '.join(dataset.label_names)})")
    if data_cfg.freeze_embeddings:
        model.encoder.embedding.weight.requires_grad_(False)
    model.to(device)
    dev_before = None
    if source is not None and not resume:
        dev_before = evaluate_any(model, splits["dev"], vocab, device, dataset, "dev")
        log(f"dev before fine-tuning: {train_cfg.select_metric} {dev_before[train_cfg.select_metric]:.4f}")

    extra = {"resolved_config": config.to_dict(), "task": dataset.name}
    if coverage is not None:
        extra["vector_coverage"] = {"found": coverage.found, "total": coverage.total}
    trainer = Trainer(model, train_cfg, out_dir,
                      save_extra=lambda d: write_model_files(d, model_cfg, vocab, extra), log=log,
                      distributed=context)
    if resume:
        trainer.resume()
    dev = splits["dev"]
    train_items = splits["train"]
    if data_cfg.phrases:  # every labeled phrase its own sentence (sequence encoders only)
        train_items = labeled_phrases(train_items)
        log(f"training on {len(train_items):,} distinct labeled phrases of {len(splits['train']):,} trees")
    lengths = [len(item.tokens()) for item in train_items] if train_cfg.batch_tokens else None
    state = trainer.fit(
        model.plan(train_items, vocab),  # per-tree work once per run
        make_batch=lambda items: model.make_batch(items, vocab, device),
        evaluate=lambda m: evaluate_any(m, dev, vocab, device, dataset, "dev"),
        lengths=lengths,
        on_epoch=on_epoch,
    )
    # Final metrics with the best (dev-selected) weights.
    best = read_weights(out_dir, device=device)
    model.load_state_dict(best)
    results = {"best_epoch": state.best_epoch, "epochs_run": state.epoch, "select_metric": train_cfg.select_metric}
    for split, trees in splits.items():
        results[split] = evaluate_any(model, trees, vocab, device, dataset, split)
    if "test" in splits and (context is None or context.is_main):  # for significance tests (compare)
        write_predictions(out_dir / PREDICTIONS, item_predictions(model, splits["test"], vocab, device, dataset, "test"))
    if dev_before is not None:
        results["dev_before"] = dev_before
        metric = train_cfg.select_metric
        log(f"dev after fine-tuning: {metric} {results['dev'][metric]:.4f} (before: {dev_before[metric]:.4f})")
    results["parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    results["train_seconds"] = sum(r["train_seconds"] for r in state.history)
    if context is None or context.is_main:
        atomic_write_json(out_dir / METRICS, results)
    return results


def evaluate_dir(directory: Path, corpus: Optional[str] = None, split: str = "test",
                 path: Optional[str] = None, device: str = "auto",
                 log: Callable[[str], None] = print, predictions: Optional[Path] = None) -> dict:
    """Metrics of the model in ``directory`` on ``split`` of its corpus (or another one), the
    data read with the ``[data]`` settings it was trained with; ``predictions``: a JSONL file
    to write each item's prediction to (:func:`item_predictions`)."""
    dev = pick_device(device)
    model, saved = load_model_dir(directory, dev)
    resolved = saved.get("resolved_config")
    data = RunConfig.from_dict(resolved, str(Path(directory) / CONFIG), files=False).data if resolved else DataConfig()
    if corpus is None and not resolved:
        raise ConfigError(f"{directory} does not say its corpus, got no resolved_config; pass --corpus")
    dataset = load_data(data, corpus, path, log=log, progress=False, label_names=model.config.label_names)
    _note_changed_files(Path(directory), dataset, log)
    if split not in dataset.splits:
        raise ConfigError(f"corpus {dataset.name} has no split {split!r}, got {split!r}; "
                          f"splits: {', '.join(dataset.splits)}")
    items = prepare_data(dataset, model.config.encoder)[split]
    if predictions is not None:
        write_predictions(predictions, item_predictions(model, items, model.vocab, dev, dataset, split))
    return evaluate_any(model, items, model.vocab, dev, dataset, split)
