"""``treernn tune``: a search over declared settings, judged on dev only, built on Optuna.

A study directory holds:

- ``tune.json``: what is tuned (model, corpus, the settings every trial starts from, the space,
  the number of trials, the sampler's seed, the storage);
- ``study.db``: Optuna's study in SQLite (unless ``--storage URL`` names another database), so a
  stopped search continues where it was and several processes share it;
- ``trials/NNNN/``: each trial an ordinary run directory (``treernn evaluate`` reads it);
- ``trials.json``: every trial's state, dev score, settings and seconds, rewritten as each ends;
- ``best.toml`` (the best trial's settings, for ``treernn train --config``) and ``best.json``.

Sampling: Optuna's TPE sampler (its first trials random: a quarter of the trials, at least 4,
at most 10); pruning: Optuna's median pruner (a trial whose dev score after an epoch is below
the median of the earlier trials at that epoch stops there, from epoch 2 on, once 4 trials have
finished). A pruned trial counts as one of the trials, a failed one does not.

Workers claim trials under a file lock (``.lock``): a study never runs more trials than asked
on one machine. A worker that dies leaves its trial running in the study; the next worker on the
same machine marks it failed and queues its settings again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import optuna
import sqlalchemy.exc
import torch
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from treernn.encoders.presets import get_preset
from treernn.encoders.registry import BUILDERS
from treernn.errors import ConfigError, TreernnError, TuneError
from treernn.storage import atomic_write_bytes, atomic_write_json, process_alive
from treernn.training.config import RunConfig, read_toml, resolve_config, settings as known_settings
from treernn.training.presets import default_space, tune_settings
from treernn.training.run import train

META = "tune.json"
STUDY_FILE = "study.db"
TRIALS = "trials"
SUMMARY = "trials.json"
BEST_TOML = "best.toml"
BEST_JSON = "best.json"
LOCK = ".lock"
STUDY_NAME = "treernn"
MAX_FAILURES = 3  # a worker stops after this many failed trials in a row
_RANGE_KEYS = {"low", "high", "log", "step"}


# --------------------------------------------------------------------------- the space
@dataclass(frozen=True)
class Param:
    """One setting of the space: a float or integer range (``log``: sampled on a log scale;
    ``step``: a grid) or a list of choices."""

    name: str
    low: Any = None
    high: Any = None
    log: bool = False
    step: Any = None
    choices: Optional[tuple] = None

    @property
    def distribution(self):
        if self.choices is not None:
            return CategoricalDistribution(self.choices)
        if isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.step, float):
            return IntDistribution(self.low, self.high, log=self.log, step=self.step or 1)
        return FloatDistribution(float(self.low), float(self.high), log=self.log,
                                 step=None if self.step is None else float(self.step))

    def values(self) -> list:
        """The values a trial may get at the edges (to check them before any trial runs)."""
        return list(self.choices) if self.choices is not None else [self.low, self.high]

    def to_dict(self) -> dict:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        out = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_space(raw: Any, source: str) -> dict[str, Param]:
    """``{"section.key": {"low": .., "high": .., "log": .., "step": ..} | {"choices": [..]}}`` as
    :class:`Param` objects, each checked for its form (not yet against the settings).

    Raises:
        TuneError: an unknown setting, a malformed range, empty choices.
    """
    if not isinstance(raw, dict) or not raw:
        raise TuneError(f"{source}: the space is empty, got {raw!r}; give a [space] table with a setting "
                        "per line, e.g. \"trainer.lr\" = {{low = 0.01, high = 0.2, log = true}}")
    known = known_settings()
    space = {}
    for name, spec in raw.items():
        section, _, key = str(name).partition(".")
        if section not in known or key not in known[section]:
            raise TuneError(f"{source}: unknown setting in the space, got {name!r}; settings look like "
                            "trainer.lr or model.hidden_dim (treernn train --help lists them)")
        where = f"{source}: {name}"
        if not isinstance(spec, dict):
            raise TuneError(f"{where} must be a table {{low, high[, log, step]}} or {{choices}}, got {spec!r}")
        if "choices" in spec:
            choices = spec["choices"]
            if set(spec) != {"choices"}:
                raise TuneError(f"{where} has choices and {', '.join(sorted(set(spec) - {'choices'}))}, got "
                                f"{spec!r}; give either choices or a range")
            if not isinstance(choices, list) or not choices or any(isinstance(c, (list, dict)) for c in choices):
                raise TuneError(f"{where}: choices must be a non-empty list of values, got {choices!r}")
            space[name] = Param(name, choices=tuple(choices))
            continue
        extra = set(spec) - _RANGE_KEYS
        if extra:
            raise TuneError(f"{where}: unknown key(s) {', '.join(sorted(extra))}, got {spec!r}; a range has "
                            "low, high, log, step")
        low, high, log, step = spec.get("low"), spec.get("high"), spec.get("log", False), spec.get("step")
        if not (_number(low) and _number(high)):
            raise TuneError(f"{where}: a range needs numbers low and high, got {spec!r}; e.g. "
                            "{low = 0.01, high = 0.2}")
        if not low < high:
            raise TuneError(f"{where}: low must be below high, got low {low!r}, high {high!r}")
        if not isinstance(log, bool):
            raise TuneError(f"{where}: log must be true or false, got {log!r}")
        if log and low <= 0:
            raise TuneError(f"{where}: a log range needs low > 0, got low {low!r}")
        if step is not None and (not _number(step) or step <= 0 or log):
            raise TuneError(f"{where}: step must be a positive number (and no log), got {spec!r}")
        space[name] = Param(name, low, high, log, step)
    return space


def read_space_file(path: str) -> dict:
    """The ``[space]`` table of a TOML file (raw, for :func:`parse_space`)."""
    loaded = read_toml(path, "space file", "give a TOML file with a [space] table", TuneError)
    unknown = sorted(set(loaded) - {"space"})
    if unknown or "space" not in loaded:
        raise TuneError(f"{path}: a space file has one [space] table, got {', '.join(unknown) or 'none'}; "
                        "e.g. [space] then \"trainer.lr\" = {low = 0.01, high = 0.2, log = true}")
    return loaded["space"]


# --------------------------------------------------------------------------- the study's spec
@dataclass
class TuneSpec:
    """What a study tunes (``tune.json``)."""

    model: str
    corpus: str
    settings: list  # [["section.key", value], ...]: every trial's settings before the space's
    space: dict  # name -> Param.to_dict()
    trials: int = 12
    seed: int = 0
    storage: Optional[str] = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))

    def params(self) -> dict[str, Param]:
        return parse_space(self.space, META)

    def config(self, values: dict[str, Any]) -> RunConfig:
        """A trial's configuration: the base settings, then the trial's values."""
        return resolve_config(None, [tuple(p) for p in self.settings] + list(values.items()))


def new_spec(model: str, corpus: str, overrides: Sequence[tuple[str, Any]] = (), space_file: Optional[str] = None,
             trials: int = 12, seed: int = 0, storage: Optional[str] = None, data_path: Optional[str] = None,
             vectors: Optional[str] = None) -> TuneSpec:
    """A checked :class:`TuneSpec`: the preset's settings (see :func:`tune_settings`), the
    user's overrides, and the space (the file's, else the model's default) whose edge values
    each make a valid configuration."""
    if trials < 1:
        raise TuneError(f"--trials must be >= 1, got {trials}; e.g. --trials 12")
    preset, base = tune_settings(model, corpus, data_path, vectors)
    pairs = [[k, v] for k, v in base.items()] + [[k, v] for k, v in overrides]
    pairs += [["trainer.progress", False], ["trainer.seed", seed]]
    try:
        resolved = resolve_config(None, [tuple(p) for p in pairs])
    except ConfigError as exc:
        raise TuneError(str(exc)) from None
    if space_file is not None:
        raw, source = read_space_file(space_file), space_file
    else:
        raw, source = default_space(preset, {**base, **dict(overrides)}), f"the default space of {model}"
    space = parse_space(raw, source)
    takes = set(BUILDERS[get_preset(resolved.model.encoder).builder].options)  # what this encoder takes
    for name in list(space):  # default spaces: a setting the model does not take is left out
        section, _, key = name.partition(".")
        if space_file is None and section == "model" and key == "input_dropout" and key not in takes:
            del space[name]
    spec = TuneSpec(model, corpus, pairs, {n: p.to_dict() for n, p in space.items()}, trials, seed, storage)
    for param in space.values():  # every edge value makes a valid run
        for value in param.values():
            try:
                spec.config({param.name: value})
            except ConfigError as exc:
                raise TuneError(f"{source}: {param.name} = {value!r} makes no valid run: {exc}") from None
    return spec


# --------------------------------------------------------------------------- the study
def _storage_url(directory: Path, spec: TuneSpec) -> str:
    return spec.storage or f"sqlite:///{(directory / STUDY_FILE).resolve()}"


def _sampler(spec: TuneSpec, offset: int) -> optuna.samplers.TPESampler:
    """TPE, seeded from the study's seed and ``offset`` (each worker and restart its own draws)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=spec.seed * 1_000_003 + offset,
                                          n_startup_trials=min(10, max(4, spec.trials // 4)), multivariate=True)


def open_study(directory: Path, spec: TuneSpec) -> optuna.Study:
    """The study (created the first time), with a sampler and the pruner.

    Raises:
        TuneError: a damaged study file or an unreachable database.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = _sampler(spec, 0)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2)
    url = _storage_url(directory, spec)
    try:
        return optuna.create_study(storage=url, study_name=STUDY_NAME, direction="maximize", sampler=sampler,
                                   pruner=pruner, load_if_exists=True)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        what = directory / STUDY_FILE if spec.storage is None else spec.storage
        first = str(exc.orig if getattr(exc, "orig", None) is not None else exc).splitlines()[0]
        raise TuneError(f"{what}: the study cannot be opened, got {first!r}; a damaged file: move it away "
                        "(the finished trials' run directories stay) and start the study again") from None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recover_dead_trials(study: optuna.Study, log: Callable[[str], None]) -> int:
    """Trials left running by a dead process of this machine: marked failed, their settings
    queued again. Returns how many."""
    host, n = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") != host or not isinstance(pid, int) or process_alive(pid):
            continue
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number})
        log(f"trial {t.number}: its process ({pid}) is gone; queued again")
        n += 1
    return n


def _counted(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                       TrialState.RUNNING)))


def _claim(study: optuna.Study, directory: Path, spec: TuneSpec, log: Callable[[str], None]):
    """The next trial (its settings sampled), or None when the study has its trials."""
    dists = {name: p.distribution for name, p in spec.params().items()}
    with _locked(directory):
        recover_dead_trials(study, log)
        if _counted(study) >= spec.trials:
            return None
        trial = study.ask(fixed_distributions=dists)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        return trial


def run_trial(study: optuna.Study, trial: optuna.Trial, directory: Path, spec: TuneSpec) -> TrialState:
    """Train the trial's run; tell the study its dev score (or that it was pruned or failed)."""
    values = dict(trial.params)
    run_dir = directory / TRIALS / f"{trial.number:04d}"
    start = time.perf_counter()

    def on_epoch(record: dict) -> None:
        trial.report(float(record["dev"][record["select_metric"]]), record["epoch"])
        if trial.should_prune():
            trial.set_user_attr("epochs", record["epoch"])
            raise optuna.TrialPruned()

    trial.set_user_attr("run_dir", str(run_dir.relative_to(directory)))
    try:
        results = train(spec.config(values), run_dir, log=lambda m: None, on_epoch=on_epoch)
    except optuna.TrialPruned:
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 1))
        study.tell(trial, state=TrialState.PRUNED)
        return TrialState.PRUNED
    except (TreernnError, RuntimeError) as exc:  # e.g. a non-finite loss at a high learning rate
        trial.set_user_attr("error", str(exc).splitlines()[0][:500])
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 1))
        study.tell(trial, state=TrialState.FAIL)
        return TrialState.FAIL
    metric = results["select_metric"]
    for key, value in (("metric", metric), ("seconds", round(time.perf_counter() - start, 1)),
                       ("train_seconds", round(results["train_seconds"], 1)), ("epochs", results["epochs_run"]),
                       ("best_epoch", results["best_epoch"]), ("parameters", results["parameters"])):
        trial.set_user_attr(key, value)
    study.tell(trial, float(results["dev"][metric]))
    return TrialState.COMPLETE


def _line(study: optuna.Study, number: int, spec: TuneSpec) -> str:
    t = study.get_trials(deepcopy=False)[number]
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    state = t.state.name.lower()
    seconds = f"{t.user_attrs.get('seconds', 0):.0f} s"
    if t.state == TrialState.COMPLETE:
        what = f"dev {t.user_attrs.get('metric', 'score')} {t.value:.4f} ({t.user_attrs.get('epochs')} epochs, {seconds})"
    elif t.state == TrialState.PRUNED:
        last = max(t.intermediate_values) if t.intermediate_values else 0
        what = f"stopped at epoch {last}, dev {t.intermediate_values.get(last, float('nan')):.4f} ({seconds})"
    else:
        what = f"{t.user_attrs.get('error', 'failed')} ({seconds})"
    try:
        best = study.best_trial
        tail = f"best {best.value:.4f} (trial {best.number})"
    except ValueError:
        tail = "no finished trial yet"
    return f"tune: trial {number} {state}: {what}; {tail}; {done} of {spec.trials} done"


def work(directory: Path, spec: TuneSpec, worker: int = 0, threads: Optional[int] = None,
         log: Callable[[str], None] = print) -> int:
    """Run trials until the study has its trials; returns how many this worker ran
    (``threads``: torch threads of this process, None: PyTorch's setting)."""
    if threads is not None:
        torch.set_num_threads(threads)
    study = open_study(directory, spec)
    study.sampler = _sampler(spec, 1000 * worker + len(study.trials))  # new draws after a restart
    ran = failures = 0
    while True:
        trial = _claim(study, directory, spec, log)
        if trial is None:
            return ran
        state = run_trial(study, trial, directory, spec)
        ran += 1
        failures = failures + 1 if state == TrialState.FAIL else 0
        with _locked(directory):
            write_summary(directory, study, spec)
        log(_line(study, trial.number, spec))
        if failures >= MAX_FAILURES:
            raise TuneError(f"{failures} trials in a row failed; the last: {trial.user_attrs.get('error')}; "
                            f"see {directory / TRIALS}")


# --------------------------------------------------------------------------- results
def _toml_value(value: Any) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(f"{value:.12g}"))  # 0.30000000000000004 (a grid step's sum) as 0.3
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TuneError(f"cannot write {value!r} to TOML")


def config_toml(config: RunConfig, header: str = "", always: Sequence[str] = ()) -> str:
    """``config`` as a TOML file for ``treernn train --config``: the settings that differ from
    the defaults, and those named in ``always`` (``section.key``: a tuned value equal to the
    default still wins over a corpus recipe); an unset optional number is written "none"."""
    defaults, values = RunConfig().to_dict(), config.to_dict()
    values["trainer"]["progress"] = defaults["trainer"]["progress"]  # trials run without bars; a user's run has one
    lines = [f"# {line}" for line in header.splitlines()]
    for section, keys in values.items():
        changed = {k: v for k, v in keys.items()
                   if v != defaults[section].get(k) or (f"{section}.{k}" in always and k != "progress")}
        if changed:
            lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in changed.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_summary(directory: Path, study: optuna.Study, spec: TuneSpec) -> Optional[dict]:
    """``trials.json``, and ``best.toml`` / ``best.json`` once a trial has finished."""
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append({"number": t.number, "state": t.state.name.lower(), "value": t.value,
                       "params": t.params, "dev_curve": [t.intermediate_values[k] for k in sorted(t.intermediate_values)],
                       **{k: v for k, v in t.user_attrs.items() if k not in ("host", "pid")}})
    finished = [t for t in trials if t["state"] in ("complete", "pruned")]
    summary = {"model": spec.model, "corpus": spec.corpus, "trials_asked": spec.trials,
               "finished": len(finished), "complete": sum(t["state"] == "complete" for t in trials),
               "pruned": sum(t["state"] == "pruned" for t in trials),
               "failed": sum(t["state"] == "fail" for t in trials),
               "seconds": round(sum(t.get("seconds", 0) for t in trials), 1), "trials": trials}
    atomic_write_json(directory / SUMMARY, summary)
    try:
        best = study.best_trial
    except ValueError:
        return None
    config = spec.config(dict(best.params))
    metric = best.user_attrs.get("metric", "score")
    header = (f"treernn tune: the best of {len(finished)} trial(s) of {spec.model} on {spec.corpus}: trial "
              f"{best.number}, dev {metric} {best.value:.4f}\n"
              f"train it: treernn train --config {directory / BEST_TOML} --out DIR [--seed K]")
    always = set(spec.space) | {k for k, _ in spec.settings}  # the study's choices, written even at a default
    atomic_write_bytes(directory / BEST_TOML, config_toml(config, header, always).encode("utf-8"))
    out = {"trial": best.number, "value": best.value, "metric": metric, "params": best.params,
           "run_dir": best.user_attrs.get("run_dir"), "finished": len(finished)}
    atomic_write_json(directory / BEST_JSON, out)
    return out


# --------------------------------------------------------------------------- entry points
def read_spec(directory: Path) -> TuneSpec:
    path = Path(directory) / META
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TuneSpec(**data)
    except FileNotFoundError:
        raise TuneError(f"{directory} holds no study, got no {META}; start one with treernn tune --model M "
                        f"--corpus C --out {directory}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise TuneError(f"{path} is damaged, got {str(exc).splitlines()[0]}; restore it or start a new "
                        "study in another directory") from None


def prepare(directory: Path, spec: Optional[TuneSpec], trials: Optional[int] = None) -> TuneSpec:
    """The study's spec: ``spec`` written to a new directory, or the directory's (a spec of
    another model or corpus is an error; ``trials`` may raise the count)."""
    directory = Path(directory)
    if (directory / META).exists():
        saved = read_spec(directory)
        if spec is not None and (saved.model, saved.corpus) != (spec.model, spec.corpus):
            raise TuneError(f"{directory} holds a study of {saved.model} on {saved.corpus}, got {spec.model} on "
                            f"{spec.corpus}; use another --out directory")
        if spec is not None and saved.space != spec.space:
            raise TuneError(f"{directory} holds a study with another space, got a different --space; use "
                            "another --out directory, or --resume DIR to continue it as it was")
        spec = saved
    elif spec is None:
        raise TuneError(f"{directory} holds no study, got no {META}; start one with treernn tune --model M "
                        f"--corpus C --out {directory}")
    if trials is not None:
        if trials < 1:
            raise TuneError(f"--trials must be >= 1, got {trials}; e.g. --trials 12")
        spec.trials = trials
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_json(directory / META, asdict(spec))
    return spec


def tune(directory: Path, spec: TuneSpec, jobs: int = 1, threads: Optional[int] = None,
         log: Callable[[str], None] = print) -> Optional[dict]:
    """Run the study in ``directory`` to its number of trials with ``jobs`` processes (1: this
    one; more: worker processes of one torch thread each); returns ``best.json``'s content."""
    if not isinstance(jobs, int) or jobs < 1:
        raise TuneError(f"--jobs must be >= 1, got {jobs}; e.g. --jobs 2 (one process per core)")
    directory = Path(directory)
    study = open_study(directory, spec)  # a damaged file fails here, before any worker starts
    log(f"tune: {spec.model} on {spec.corpus}, {spec.trials} trials over "
        f"{', '.join(spec.space)}; {len(study.trials)} in the study so far; {jobs} process(es)")
    if jobs == 1:
        work(directory, spec, threads=threads, log=log)
    else:
        cmd = [sys.executable, "-m", "treernn", "tune", "--resume", str(directory), "--worker"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads or 1)}
        procs = [subprocess.Popen(cmd + ["--worker-index", str(k), "--threads", str(threads or 1)], env=env)
                 for k in range(jobs)]
        try:
            codes = [p.wait() for p in procs]
        except BaseException:
            for p in procs:
                p.terminate()
            raise
        if any(codes):
            raise TuneError(f"a worker process ended with exit status {max(codes)}; its error is above; "
                            f"continue with treernn tune --resume {directory}")
    with _locked(directory):
        best = write_summary(directory, open_study(directory, spec), spec)
    if best is not None:
        log(f"tune: best trial {best['trial']}: dev {best['metric']} {best['value']:.4f}; settings in "
            f"{directory / BEST_TOML}")
    return best
