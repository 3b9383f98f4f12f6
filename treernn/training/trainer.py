"""A generic trainer: it knows nothing about trees.

It takes a model whose ``forward(batch, targets)`` returns an object with ``.loss``, a list
of training items, a ``make_batch(items) -> (batch, targets)`` function and an
``evaluate(model) -> dict`` function, and runs epochs with AdaGrad / Adam / SGD, a separate
learning rate for embeddings, weight decay, gradient clipping, early stopping on a dev
metric, learning-rate decay, progress bars, a JSON log line per epoch and a checkpoint after
every epoch that ``resume`` continues from.

Determinism: the shuffle order and the torch RNG (dropout) of epoch ``e`` are seeded from
``(seed, e)``, so a run resumed from the checkpoint of epoch ``e - 1`` continues exactly as
the uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import torch
from torch import nn

from treernn import storage
from treernn.errors import ConfigError, TrainingError
from treernn.models.directory import FORMAT_VERSION, write_weights
from treernn.training import checkpoint as ckpt
from treernn.training import distributed as dist


OPTIMIZERS = ("adagrad", "adam", "sgd")


@dataclass
class TrainConfig:
    """Trainer settings (saved beside the model in ``config.json``).

    Defaults follow Tai et al. (2015): AdaGrad, lr 0.05, embedding lr 0.1, L2 1e-4, batch 25.
    ``weight_decay`` applies to every parameter except the word embeddings (Tai et al.
    regularise the model weights; the embeddings are fine-tuned with their own rate).
    ``embedding_optimizer``: ``"sgd"`` updates the word embeddings by plain SGD at
    ``embedding_lr``, as Tai et al.'s code does (``emb:updateParameters(emb_learning_rate)``
    beside AdaGrad for the rest); ``"same"`` puts them in the main optimizer with their own
    learning rate. AdaGrad's first step moves every touched coordinate by about the full
    learning rate (0.1, the size of a GloVe coordinate), so ``"same"`` with AdaGrad rewrites
    rare words' pretrained vectors within a few updates.
    """

    optimizer: str = "adagrad"
    lr: float = 0.05
    embedding_lr: Optional[float] = 0.1
    embedding_optimizer: str = "sgd"
    weight_decay: float = 1e-4
    clip_norm: Optional[float] = 5.0
    epochs: int = 10
    batch_size: int = 25
    # When set: batches of items of similar length, each at most this many tokens (padding
    # counted; an item longer than the budget is a batch of its own), in a shuffled order;
    # batch_size is then not used. For many short items (data.phrases).
    batch_tokens: Optional[int] = None
    patience: Optional[int] = 5
    lr_decay: Optional[float] = None
    # AdaGrad: reset its sums of squared gradients every this many epochs (CoreNLP's RNTN
    # trainer: adagradResetFrequency = 1), so steps do not shrink for good; none: never.
    adagrad_reset: Optional[int] = None
    seed: int = 0
    select_metric: str = "accuracy"
    skip_nonfinite: bool = False
    progress: bool = True
    sparse_embeddings: bool = True

    def check(self) -> None:
        """Raise :class:`~treernn.errors.ConfigError` (``<what>, got <value>; <how to fix>``)
        on the first bad setting."""
        _choice("optimizer", self.optimizer, OPTIMIZERS, "AdaGrad (Tai et al.), Adam or plain SGD")
        _choice("embedding_optimizer", self.embedding_optimizer, ("sgd", "same"),
                "sgd updates the embeddings by plain SGD, same puts them in the main optimizer")
        _choice("select_metric", self.select_metric, SELECT_METRICS, "the dev metric that picks the best epoch")
        _number("lr", self.lr, "a learning rate > 0, e.g. 0.05", low=0.0)
        _number("embedding_lr", self.embedding_lr, "a learning rate > 0, or none for the main lr",
                low=0.0, optional=True)
        _number("weight_decay", self.weight_decay, "an L2 weight >= 0, e.g. 1e-4", low=0.0, inclusive=True)
        _number("clip_norm", self.clip_norm, "a gradient norm > 0, or none for no clipping",
                low=0.0, optional=True)
        _number("lr_decay", self.lr_decay, "a factor in (0, 1], or none", low=0.0, high=1.0, optional=True)
        _integer("epochs", self.epochs, 1, "the maximum number of epochs, 1 or more")
        _integer("batch_size", self.batch_size, 1, "trees per batch, 1 or more")
        _integer("batch_tokens", self.batch_tokens, 1, "tokens per batch (padding counted), or none for "
                 "batch_size items per batch", optional=True)
        _integer("patience", self.patience, 1, "epochs without improvement before stopping, or none",
                 optional=True)
        _integer("seed", self.seed, 0, "an integer >= 0")
        _integer("adagrad_reset", self.adagrad_reset, 1, "epochs between resets of AdaGrad's sums, or none",
                 optional=True)
        if self.adagrad_reset is not None and self.optimizer != "adagrad":
            raise ConfigError(f"trainer.adagrad_reset is for the adagrad optimizer, got optimizer "
                              f"{self.optimizer!r}; leave adagrad_reset out or use --trainer.optimizer adagrad")
        for name in ("skip_nonfinite", "progress", "sparse_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"trainer.{name} must be true or false, got {getattr(self, name)!r}; "
                                  f"write --trainer.{name} true or false")


SELECT_METRICS = ("accuracy", "phrase_accuracy", "ambiguous_accuracy", "pearson")


def _choice(name: str, value: Any, choices: Sequence[str], hint: str) -> None:
    if value not in choices:
        raise ConfigError(f"trainer.{name} must be one of {', '.join(choices)}, got {value!r}; {hint}")


def _integer(name: str, value: Any, low: int, hint: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"trainer.{name} must be an integer >= {low}, got {value!r}; {hint}")


def _number(name: str, value: Any, hint: str, low: float, high: Optional[float] = None,
            inclusive: bool = False, optional: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if inclusive else value > low) and (high is None or value <= high)
    if not ok:
        raise ConfigError(f"trainer.{name} is out of range, got {value!r}; {hint}")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def token_batches(lengths: Sequence[int], budget: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Item indices grouped into batches of similar length, each batch's ``len * longest`` at
    most ``budget`` (one item per batch if it alone is longer): items sorted by length (random
    order among equal lengths), cut greedily, then the batches shuffled. Every index occurs
    exactly once."""
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.lexsort((rng.random(len(lengths)), lengths))  # by length, ties at random
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and (end + 1 - start) * lengths[order[end]] <= budget:
            end += 1
        batches.append(order[start:end])
        start = end
    return [batches[i] for i in rng.permutation(len(batches))]


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % 2**63


def use_sparse_embeddings(model: nn.Module, config: TrainConfig) -> bool:
    """Switch ``model``'s ``nn.Embedding`` modules to sparse gradients when
    ``config.sparse_embeddings`` is on and the optimizer takes sparse gradients (AdaGrad,
    SGD): a batch then updates only the rows of its own words instead of the whole table (the
    same arithmetic). Returns whether it did. The :class:`Trainer` calls it on the model it is
    given (not in distributed runs: DDP averages dense gradients); nothing else changes a
    caller's model."""
    if not (config.sparse_embeddings and config.optimizer in ("adagrad", "sgd")):
        return False
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            module.sparse = True
    return True


@contextlib.contextmanager
def quiet_sparse_notice() -> Iterator[None]:
    """Silence, inside the block only, PyTorch's notice that sparse invariant checks are
    disabled: AdaGrad's sparse path builds its tensors from valid indices, so it says nothing
    about the user's run. No process-wide warnings filter is installed."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")
        yield


def build_optimizer(model: nn.Module, config: TrainConfig) -> tuple[torch.optim.Optimizer, Optional[torch.optim.SGD]]:
    """(main optimizer, embedding optimizer or None); ``model`` is not changed.

    With ``config.embedding_optimizer == "sgd"`` the word embeddings get a plain SGD optimizer
    of their own (it has no state); otherwise they are a parameter group of the main one.
    Embeddings with sparse gradients (:func:`use_sparse_embeddings`) keep the main optimizer
    off its fused CPU kernel, which takes no sparse gradients.
    """
    emb, rest = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (emb if name.endswith("embedding.weight") else rest).append(param)
    emb_lr = config.embedding_lr if config.embedding_lr is not None else config.lr
    groups = [{"params": rest, "weight_decay": config.weight_decay, "name": "model"}]
    emb_optimizer = None
    if emb and config.embedding_optimizer == "sgd":
        emb_optimizer = torch.optim.SGD(emb, lr=emb_lr)
    elif emb:
        groups.append({"params": emb, "weight_decay": 0.0, "name": "embedding", "lr": emb_lr})
    # On CPU, PyTorch's default optimizer step is a Python loop over the parameters; the fused
    # kernel does the same arithmetic in one call per step (AdaGrad on a Tree-LSTM's dense
    # parameters: 1.19 ms -> 0.14 ms a step, 5% of a batch of 25 SST trees). It takes no
    # sparse gradients (embeddings in the main optimizer's group). On CUDA PyTorch already
    # picks its multi-tensor path.
    sparse_ids = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding) and m.sparse}
    params = [p for group in groups for p in group["params"]]
    cpu_dense = all(p.device.type == "cpu" and id(p) not in sparse_ids for p in params)
    fused = {"fused": True} if params and cpu_dense else {}
    if config.optimizer == "adagrad":
        return torch.optim.Adagrad(groups, lr=config.lr, **fused), emb_optimizer
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, **fused), emb_optimizer
    return torch.optim.SGD(groups, lr=config.lr, **fused), emb_optimizer


def reset_adagrad(optimizer: torch.optim.Optimizer) -> None:
    """Set an AdaGrad optimizer's sums of squared gradients back to their start (as CoreNLP's
    RNTN trainer does every epoch); the step counts stay."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "sum" in state:
                state["sum"].fill_(group.get("initial_accumulator_value", 0.0))


def clip_grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """``nn.utils.clip_grad_norm_`` that also takes sparse gradients (sparse embeddings).

    Scales every gradient by ``min(1, max_norm / total_norm)`` and returns the total norm.
    No host synchronisation: the scale stays a tensor.
    """
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return torch.zeros(())
    dense = [p.grad for p in params if not p.grad.is_sparse]
    sparse = [p for p in params if p.grad.is_sparse]
    norms = [torch.nn.utils.get_total_norm(dense, foreach=True)] if dense else []  # one call
    for p in sparse:
        p.grad = p.grad.coalesce()  # repeated rows must be summed before squaring
        norms.append(torch.linalg.vector_norm(p.grad._values()))
    total = torch.linalg.vector_norm(torch.stack(norms))
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
    if dense:
        torch._foreach_mul_(dense, scale)
    for p in sparse:
        p.grad.mul_(scale)
    return total


def _accuracy_counts(out: Any, targets: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(right, labeled) of a training batch, as device tensors (no host sync): per node when
    the output has ``node_logits`` (tree models), else per item; (0, 0) for outputs without
    logits or targets of another shape."""
    logits = getattr(out, "node_logits", None)
    if logits is None:
        logits = getattr(out, "logits", None)
    zero = torch.zeros((), dtype=torch.long, device=targets.device if torch.is_tensor(targets) else None)
    if logits is None or not torch.is_tensor(targets) or logits.shape[:1] != targets.shape[:1] \
            or targets.dtype != torch.long:  # scores (pair relatedness) have no accuracy
        return zero, zero
    with torch.no_grad():
        labeled = targets >= 0
        return ((logits.argmax(-1) == targets) & labeled).sum(), labeled.sum()


@dataclass
class TrainState:
    """What the trainer records after each epoch (``trainer_state.json``)."""

    epoch: int = 0  # epochs completed
    best_epoch: int = 0
    best_metric: float = -math.inf
    bad_epochs: int = 0
    history: list = field(default_factory=list)
    stopped_early: bool = False


class Trainer:
    """Trains ``model`` and writes its model directory ``out_dir`` after every epoch.

    Args:
        model: ``forward(batch, targets) -> output`` with ``output.loss`` a scalar tensor.
        config: :class:`TrainConfig`.
        out_dir: the model directory (None: keep nothing on disk).
        save_extra: called with ``out_dir`` whenever the best model is written, to add the
            files that describe the model (``config.json``, ``vocab.json``).
        log: where progress lines go (stderr by default).
        distributed: this process's place in a distributed run
            (:mod:`treernn.training.distributed`), None for a single process. Each process
            trains on its share of every global batch through DistributedDataParallel; only
            rank 0 writes files and logs.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, out_dir: Optional[Path] = None,
                 save_extra: Optional[Callable[[Path], None]] = None,
                 log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
                 distributed: Any = None) -> None:
        config.check()
        self.model = model
        self.config = config
        self.distributed = distributed
        self.is_main = distributed is None or distributed.is_main
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.save_extra = save_extra
        self.log = log if self.is_main else (lambda s: None)
        if distributed is None:
            use_sparse_embeddings(model, config)
        self.optimizer, self.embedding_optimizer = build_optimizer(model, config)
        self.forward = model
        if distributed is not None:
            from torch.nn.parallel import DistributedDataParallel

            device = next(model.parameters()).device
            self.forward = DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=True)
        self.optimizers = [o for o in (self.optimizer, self.embedding_optimizer) if o is not None]
        self.state = TrainState()
        if self.out_dir is not None and self.is_main:
            try:
                self.out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TrainingError(f"cannot create {self.out_dir}: {exc.strerror or exc}") from None
            for stale in self.out_dir.glob(".*.tmp"):  # a write a killed run did not finish
                stale.unlink(missing_ok=True)
            probe = self.out_dir / ".write-test"
            try:
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                raise TrainingError(f"cannot write in {self.out_dir}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------ checkpoints
    def _save(self, improved: bool) -> None:
        if self.out_dir is None or not self.is_main:
            return
        d, e = self.out_dir, self.state.epoch
        weights = {k: v for k, v in self.model.state_dict().items()}
        if improved:
            write_weights(d, weights, {"epoch": str(e)})
            if self.save_extra is not None:
                self.save_extra(d)
        # Resume files carry the epoch in their names; trainer_state.json, written last, is
        # the commit point that says which ones are current.
        storage.save_tensors(d / f"last-{e}.safetensors", weights)
        tensors, rest = ckpt.optimizer_to_tensors(self.optimizer)
        storage.save_tensors(d / f"optimizer-{e}.safetensors", tensors)
        state = asdict(self.state)
        if self.embedding_optimizer is not None:  # plain SGD: its learning rate is its whole state
            rest["embedding_lr"] = self.embedding_optimizer.param_groups[0]["lr"]
        state.update(optimizer=rest, train_config=asdict(self.config),
                     format_version=FORMAT_VERSION)
        storage.atomic_write_json(d / ckpt.TRAINER_STATE, state)
        # The log is rewritten whole from the history, so it always matches the state.
        storage.atomic_write_bytes(d / ckpt.LOG, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.state.history).encode("utf-8"))
        for old in list(d.glob("last-*.safetensors")) + list(d.glob("optimizer-*.safetensors")):
            if old.name not in (f"last-{e}.safetensors", f"optimizer-{e}.safetensors"):
                old.unlink(missing_ok=True)

    def resume(self) -> None:
        """Continue from ``out_dir``'s last completed epoch (weights, optimizer, history)."""
        if self.out_dir is None or not (self.out_dir / ckpt.TRAINER_STATE).exists():
            raise TrainingError(f"nothing to resume in {self.out_dir}: no {ckpt.TRAINER_STATE}")
        storage.refuse_pickles(self.out_dir)
        saved = storage.read_json(self.out_dir / ckpt.TRAINER_STATE)
        e = saved["epoch"]
        weights = storage.load_tensors(self.out_dir / f"last-{e}.safetensors")
        device = next(self.model.parameters()).device
        try:
            self.model.load_state_dict({k: v.to(device) for k, v in weights.items()})
        except RuntimeError as exc:
            raise TrainingError(f"{self.out_dir}: the saved weights do not fit this model "
                                f"({str(exc).splitlines()[0]})") from None
        opt = storage.load_tensors(self.out_dir / f"optimizer-{e}.safetensors", device=device)
        ckpt.optimizer_from_tensors(self.optimizer, opt, saved["optimizer"])
        if self.embedding_optimizer is not None and "embedding_lr" in saved["optimizer"]:
            self.embedding_optimizer.param_groups[0]["lr"] = saved["optimizer"]["embedding_lr"]
        self.state = TrainState(**{k: saved[k] for k in asdict(TrainState()).keys()})
        self.log(f"resuming after epoch {e} from {self.out_dir}")

    # ------------------------------------------------------------------ training
    def fit(self, train: Sequence[Any], make_batch: Callable[[Sequence[Any]], tuple],
            evaluate: Callable[[nn.Module], dict], lengths: Optional[Sequence[int]] = None,
            on_epoch: Optional[Callable[[dict], None]] = None) -> TrainState:
        """Train for ``config.epochs`` epochs (from the current state), selecting on dev.

        Args:
            train: the training items (anything ``make_batch`` takes).
            make_batch: items -> (batch, targets), already on the model's device.
            evaluate: model -> metrics dict with ``config.select_metric`` (higher is better).
            lengths: each item's number of tokens; needed with ``config.batch_tokens``.
            on_epoch: called with each epoch's log record once its checkpoint is written (e.g.
                a tuner's pruner; an exception it raises ends training there).
        """
        cfg = self.config
        if len(train) == 0:
            raise TrainingError("no training items")
        if cfg.batch_tokens is not None and (lengths is None or len(lengths) != len(train)):
            raise TrainingError("trainer.batch_tokens needs the length of every training item; "
                                "pass lengths= to fit()")
        while self.state.epoch < cfg.epochs and not self.state.stopped_early:
            epoch = self.state.epoch + 1
            seed = _epoch_seed(cfg.seed, epoch)
            torch.manual_seed(seed)
            if cfg.adagrad_reset is not None and epoch > 1 and (epoch - 1) % cfg.adagrad_reset == 0:
                reset_adagrad(self.optimizer)
            rng = np.random.default_rng(seed)
            if cfg.batch_tokens is None:
                order = rng.permutation(len(train))
                batches = [order[b0:b0 + cfg.batch_size] for b0 in range(0, len(train), cfg.batch_size)]
            else:
                batches = token_batches(lengths, cfg.batch_tokens, rng)
            self.model.train()
            start = time.perf_counter()
            total_loss, total_items, skipped = 0.0, 0, 0
            device = next(self.model.parameters()).device
            right = counted = torch.zeros((), dtype=torch.long, device=device)  # running accuracy, on device
            bar = None
            if cfg.progress and self.is_main and sys.stderr.isatty():
                from tqdm import tqdm

                bar = tqdm(total=len(batches), desc=f"epoch {epoch}", leave=False, file=sys.stderr)
            for indices in batches:
                items = [train[i] for i in indices]
                mine = dist.shard(items, self.distributed)
                batch, targets = make_batch(mine or items[:1])  # no share: weight 0 below
                out = self.forward(batch, targets)
                loss = out.loss
                if self.distributed is not None:
                    weight = out.loss_weight if mine else torch.zeros((), device=loss.device)
                    loss, global_loss = dist.scale_loss(loss, weight, self.distributed)
                    loss_value = float(global_loss)
                else:
                    loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    if cfg.skip_nonfinite:
                        skipped += 1
                        for opt in self.optimizers:
                            opt.zero_grad(set_to_none=True)
                        continue
                    raise TrainingError(
                        f"non-finite loss ({loss_value}) in epoch {epoch}; the last good checkpoint "
                        f"is kept (lower the learning rate, or pass --trainer.skip_nonfinite true)")
                for opt in self.optimizers:
                    opt.zero_grad(set_to_none=True)
                with quiet_sparse_notice():
                    loss.backward()
                    if cfg.clip_norm:
                        clip_grad_norm(self.model.parameters(), cfg.clip_norm)
                    for opt in self.optimizers:
                        opt.step()
                total_loss += loss_value * len(items)
                total_items += len(items)
                if mine:
                    r, c = _accuracy_counts(out, targets)
                    right, counted = right + r.to(device), counted + c.to(device)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total_loss / max(total_items, 1):.4f}",
                                    acc=f"{int(right) / max(int(counted), 1):.3f}")
            if bar is not None:
                bar.close()
            right, counted = (dist.all_sum(t, self.distributed) for t in (right, counted))
            train_seconds = time.perf_counter() - start
            self.model.eval()
            with torch.no_grad():
                metrics = evaluate(self.model)
            if cfg.select_metric not in metrics:
                raise TrainingError(f"evaluate() gave no {cfg.select_metric!r} (got {sorted(metrics)})")
            value = metrics[cfg.select_metric]
            improved = value > self.state.best_metric
            self.state.epoch = epoch
            if improved:
                self.state.best_metric, self.state.best_epoch, self.state.bad_epochs = value, epoch, 0
            else:
                self.state.bad_epochs += 1
                if cfg.patience is not None and self.state.bad_epochs >= cfg.patience:
                    self.state.stopped_early = True
            if cfg.lr_decay is not None:
                for opt in self.optimizers:
                    for group in opt.param_groups:
                        group["lr"] *= cfg.lr_decay
            record = {"epoch": epoch, "train_loss": total_loss / max(total_items, 1),
                      "train_accuracy": int(right) / max(int(counted), 1),
                      "train_seconds": round(train_seconds, 3),
                      "sentences_per_second": round(total_items / max(train_seconds, 1e-9), 1),
                      "skipped_batches": skipped, "dev": metrics, "select_metric": cfg.select_metric,
                      "best_epoch": self.state.best_epoch}
            self.state.history.append(record)
            self.log(json.dumps(record, ensure_ascii=False))
            self._save(improved)
            if on_epoch is not None:
                on_epoch(record)
        dist.barrier(self.distributed)  # rank 0's files are complete before anyone reads them
        return self.state
