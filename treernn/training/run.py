"""Training and evaluation runs: configuration (TOML + dotted overrides), data preparation,
metrics, and the functions behind ``treernn train`` and ``treernn evaluate``.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch

from treernn.errors import TreernnError
from treernn.training import distributed
from treernn.trees import Tree


class ConfigError(TreernnError, ValueError):
    """A bad configuration file or override."""


@dataclass
class DataConfig:
    """Which corpus, and how to read it."""

    corpus: str = "sst"
    path: Optional[str] = None
    classes: int = 5
    vectors: Optional[str] = None
    lowercase: bool = False
    min_freq: int = 1
    skip_bad: bool = False
    freeze_embeddings: bool = False
    parse: str = "given"  # "given": the corpus trees; "spacy": spaCy dependency parses (SST)
    # With vectors: words of the other splits that have a pretrained vector join the vocabulary
    # (Tai et al.'s vocabulary covers all of SST). Only their tokens are read, never labels;
    # they never occur in training, so they keep their pretrained vectors.
    vocab_from_vectors: bool = True
    # Binary SST: neutral phrases train a third class, as in Tai et al.'s code (false: unlabeled).
    neutral_phrases: bool = True
    # spaCy processes for re-parsing a corpus (data.parse = "spacy"): nlp.pipe(n_process=...).
    parse_processes: int = 1


def default_config() -> dict:
    """The full default configuration: sections ``model``, ``trainer``, ``data``, ``run``."""
    from treernn.models.build import ModelConfig
    from treernn.training.trainer import TrainConfig

    model = asdict(ModelConfig())
    for key in ("vocab_size", "num_classes", "label_names", "sentence_classes"):
        model.pop(key)
    return {"model": model, "trainer": asdict(TrainConfig()), "data": asdict(DataConfig()),
            "run": {"device": "auto", "distributed": False}}


def _coerce(value: str, like: Any, key: str) -> Any:
    if isinstance(like, bool):
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if value.lower() in ("none", "null"):
        return None
    try:
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float) or like is None:
            try:
                return int(value) if like is None and value.lstrip("-").isdigit() else float(value)
            except ValueError:
                if like is None:
                    return value
                raise
    except ValueError:
        raise ConfigError(f"{key} must be a {type(like).__name__}, got {value!r}") from None
    return value


def resolve_config(file: Optional[str] = None, overrides: Sequence[tuple[str, str]] = ()) -> dict:
    """Defaults, updated by a TOML file, then by ``section.key=value`` overrides (strings,
    converted to the type of the default)."""
    config = default_config()
    if file:
        try:
            with open(file, "rb") as fh:
                loaded = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from None
        for section, values in loaded.items():
            if section not in config or not isinstance(values, dict):
                raise ConfigError(f"{file}: unknown section [{section}]; known: {', '.join(config)}")
            for key, value in values.items():
                if key not in config[section]:
                    raise ConfigError(f"{file}: unknown setting {section}.{key}; known: "
                                      f"{', '.join(config[section])}")
                config[section][key] = value
    for dotted, value in overrides:
        section, _, key = dotted.partition(".")
        if section not in config or key not in config[section]:
            known = [f"{s}.{k}" for s in config for k in config[s]]
            raise ConfigError(f"unknown setting --{dotted}; known: {', '.join(known)}")
        config[section][key] = _coerce(value, config[section][key], f"--{dotted}")
    return config


def pick_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available here; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu or cuda") from None


# ---------------------------------------------------------------------------------- metrics
@torch.no_grad()
def predict_batches(model, trees: Sequence[Tree], vocab, device, batch_size: int = 256):
    """Yield (trees, ClassifierOutput, targets) per batch, in order, model in eval mode."""
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
def prepare_data(dataset, encoder: str) -> dict[str, list[Tree]]:
    """Every split's trees prepared for ``encoder`` (binarized where it needs binary trees)."""
    from treernn.models.build import prepare_tree

    return {split: [prepare_tree(t, encoder) for t in trees] for split, trees in dataset.splits.items()}


def train(config: dict, out_dir: Path, resume: bool = False, log: Callable[[str], None] = print) -> dict:
    """Train one model as ``config`` says and write its model directory; returns metrics.

    Launched by ``torchrun`` (or with ``run.distributed``), each process trains on its share
    of every batch (:mod:`treernn.training.distributed`); rank 0 writes the directory."""
    from treernn.training import checkpoint as ckpt
    from treernn.training.trainer import TrainConfig

    out_dir = Path(out_dir)
    if resume:
        if not (out_dir / ckpt.TRAINER_STATE).exists():
            raise ConfigError(f"nothing to resume in {out_dir}: no {ckpt.TRAINER_STATE} (the run "
                              "stopped before its first epoch ended; start it again without --resume)")
        saved = ckpt.read_json(out_dir / ckpt.CONFIG)
        config = saved["resolved_config"]
    data_cfg = DataConfig(**config["data"])
    train_cfg = TrainConfig(**config["trainer"])
    device = pick_device(config["run"]["device"])
    context = distributed.setup(config["run"]["device"], required=config["run"].get("distributed", False))
    try:
        return _train(config, data_cfg, train_cfg, distributed.device_for(context, device), out_dir,
                      resume, log if context is None or context.is_main else (lambda m: None), context)
    finally:
        distributed.cleanup(context)


def _train(config, data_cfg, train_cfg, device, out_dir, resume, log, context) -> dict:
    from treernn.models.build import ModelConfig, build_model, write_model_files
    from treernn.training import checkpoint as ckpt
    from treernn.training.tasks import load_task
    from treernn.training.trainer import Trainer, seed_everything
    from treernn.vocab import Vocab, load_vectors

    seed_everything(train_cfg.seed)

    if data_cfg.parse not in ("given", "spacy"):
        raise ConfigError(f"data.parse must be 'given' or 'spacy', got {data_cfg.parse!r}")
    if data_cfg.parse == "spacy" and data_cfg.corpus != "sst":
        raise ConfigError("data.parse = 'spacy' is for the sst corpus (its sentences are re-parsed)")
    dataset = load_task(data_cfg.corpus, data_cfg.path, data_cfg.classes, data_cfg.skip_bad,
                        dependency=data_cfg.parse == "spacy", neutral_phrases=data_cfg.neutral_phrases,
                        parse_processes=data_cfg.parse_processes)
    splits = prepare_data(dataset, config["model"]["encoder"])
    vocab = Vocab.build((t.tokens() for t in splits["train"]), min_freq=data_cfg.min_freq,
                        lowercase=data_cfg.lowercase)
    coverage, vectors = None, None
    if data_cfg.vectors:
        train_size = len(vocab)
        if data_cfg.vocab_from_vectors:
            for name, trees in splits.items():
                if name != "train":
                    for tree in trees:
                        for token in tree.tokens():
                            vocab.add(token)
        vectors, coverage = load_vectors(data_cfg.vectors, vocab, config["model"]["input_dim"],
                                         seed=train_cfg.seed)
        if len(vocab) > train_size:  # keep the other splits' words that have a vector
            keep = list(range(train_size)) + [i for i in range(train_size, len(vocab)) if i in coverage.found_ids]
            vocab = Vocab(vocab.itos[2:train_size] + [vocab.itos[i] for i in keep[train_size:]],
                          lowercase=vocab.lowercase)
            vectors = vectors[keep]
            log(f"{len(keep) - train_size:,} words of dev/test with a pretrained vector join the vocabulary")
        log(str(coverage))
    model_cfg = ModelConfig(**config["model"], vocab_size=len(vocab), num_classes=dataset.num_classes,
                            label_names=dataset.label_names, sentence_classes=dataset.sentence_classes)
    model = build_model(model_cfg)
    model.vocab = vocab
    if vectors is not None:
        model.encoder.embedding.weight.data.copy_(torch.from_numpy(vectors))
    if data_cfg.freeze_embeddings:
        model.encoder.embedding.weight.requires_grad_(False)
    model.to(device)

    extra = {"resolved_config": config, "task": dataset.name}
    if coverage is not None:
        extra["vector_coverage"] = {"found": coverage.found, "total": coverage.total}
    trainer = Trainer(model, train_cfg, out_dir,
                      save_extra=lambda d: write_model_files(d, model_cfg, vocab, extra), log=log,
                      distributed=context)
    if resume:
        trainer.resume()
    dev = splits["dev"]
    amb_dev = dataset.ambiguous.get("dev")
    state = trainer.fit(
        model.plan(splits["train"], vocab),  # per-tree work once per run
        make_batch=lambda items: model.make_batch(items, vocab, device),
        evaluate=lambda m: evaluate(m, dev, vocab, device, ambiguous=amb_dev),
    )
    # Final metrics with the best (dev-selected) weights.
    best = ckpt.load_tensors(out_dir / ckpt.WEIGHTS, device=device)
    model.load_state_dict(best)
    results = {"best_epoch": state.best_epoch, "epochs_run": state.epoch}
    for split, trees in splits.items():
        results[split] = evaluate(model, trees, vocab, device, ambiguous=dataset.ambiguous.get(split))
    results["parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    results["train_seconds"] = sum(r["train_seconds"] for r in state.history)
    if context is None or context.is_main:
        ckpt.atomic_write_json(out_dir / ckpt.METRICS, results)
    return results


def evaluate_dir(directory: Path, corpus: Optional[str] = None, split: str = "test",
                 path: Optional[str] = None, device: str = "auto") -> dict:
    """Metrics of the model in ``directory`` on ``split`` of its corpus (or another one)."""
    from treernn.models.build import load_model_dir
    from treernn.training.tasks import load_task

    dev = pick_device(device)
    model, model_cfg, vocab, saved = load_model_dir(directory, dev)
    data = saved.get("resolved_config", {}).get("data", {})
    corpus = corpus or data.get("corpus")
    if corpus is None:
        raise ConfigError(f"{directory} does not say its corpus; pass --corpus")
    dataset = load_task(corpus, path or data.get("path"), data.get("classes", 5),
                        dependency=data.get("parse") == "spacy" and corpus == "sst",
                        neutral_phrases=data.get("neutral_phrases", False))
    if split not in dataset.splits:
        raise ConfigError(f"corpus {corpus} has no split {split!r}; splits: {', '.join(dataset.splits)}")
    trees = prepare_data(dataset, model_cfg.encoder)[split]
    return evaluate(model, trees, vocab, dev, ambiguous=dataset.ambiguous.get(split))
