"""The package's layout: layers import downwards only, no import cycles, every exception in
``treernn/errors.py``, and ``treernn parse --parser ptb`` runs without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "treernn"

# Lowest first. A module may import modules of its own layer or of a lower one.
LAYERS = [
    ("plumbing", ["treernn.errors", "treernn.storage", "treernn.device", "treernn.resources",
                  "treernn._dgl", "treernn.inputs"]),
    ("trees", ["treernn.trees"]),
    ("parsing", ["treernn.parsing"]),
    ("corpora", ["treernn.corpora"]),
    ("vocab", ["treernn.vocab"]),
    ("batching", ["treernn.batching"]),
    ("nn", ["treernn.nn"]),
    ("encoders", ["treernn.encoders"]),
    ("models", ["treernn.models"]),
    ("training", ["treernn.training", "treernn.demos"]),
    ("pipeline", ["treernn.pipeline"]),
    ("server", ["treernn.serve"]),
    ("apps", ["treernn.spacy_component", "treernn.bench"]),
    ("cli", ["treernn.cli", "treernn.__main__"]),
]
# Modules that may import treernn modules inside functions: the command line imports each
# command's (heavy) modules inside the command, so that `parse` needs no torch.
LAZY_ALLOWED = {"treernn.cli", "treernn.serve.app"}  # the server's HTTP process: torch only in thread mode


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _rank(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported treernn module, inside a function?, line) of every import in ``module``,
    skipping ``if TYPE_CHECKING:`` blocks (annotations only)."""
    tree = ast.parse(MODULES[module].read_text())
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, inside, child.lineno) for a in child.names if a.name.startswith("treernn"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("treernn"):
                for alias in child.names:  # `from treernn.x import y`: y may be a module
                    target = f"{child.module}.{alias.name}"
                    found.append((target if target in MODULES else child.module, inside, child.lineno))
            visit(child, inside)

    visit(tree, False)
    return [(m, inside, line) for m, inside, line in found if m != "treernn"]


def test_every_module_is_in_a_layer():
    for module in MODULES:
        if module != "treernn":
            _rank(module)


def test_layers_import_downwards_only():
    wrong = []
    for module in MODULES:
        if module == "treernn":  # the lazy top-level __init__ (importlib on attribute access)
            continue
        for target, _, line in _imports(module):
            if _rank(target) > _rank(module):
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} "
                             f"({LAYERS[_rank(module)][0]}) imports {target} ({LAYERS[_rank(target)][0]})")
    assert not wrong, "\n".join(wrong)


def test_no_imports_hidden_inside_functions():
    hidden = [f"{MODULES[m].relative_to(ROOT)}:{line}: imports {t} inside a function"
              for m in MODULES if m not in LAZY_ALLOWED for t, inside, line in _imports(m) if inside]
    assert not hidden, "\n".join(hidden)


def test_no_import_cycles():
    graph = {m: sorted({t for t, _, _ in _imports(m) if t in MODULES and t != m}) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m)


def test_every_exception_class_lives_in_errors():
    elsewhere = []
    for module, path in MODULES.items():
        if module == "treernn.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    ast.unparse(b).endswith(("Error", "Exception")) for b in node.bases):
                elsewhere.append(f"{path.relative_to(ROOT)}: class {node.name}")
    assert not elsewhere, "\n".join(elsewhere)


def test_the_layer_test_would_catch_an_upward_import(tmp_path, monkeypatch):
    """The checks above can fail: a trees module importing the models layer is reported."""
    fake = tmp_path / "treernn" / "trees" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from treernn.models.build import build_model\n\ndef f():\n    from treernn.vocab import Vocab\n")
    monkeypatch.setitem(MODULES, "treernn.trees.bad", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="treernn.trees.bad .trees. imports treernn.models.build"):
        test_layers_import_downwards_only()
    with pytest.raises(AssertionError, match="inside a function"):
        test_no_imports_hidden_inside_functions()


def test_parse_ptb_imports_no_torch():
    """`treernn parse --parser ptb` needs no torch, and loads none (nor spaCy, NLTK or DGL)."""
    code = ("import sys\nfrom treernn.cli import main\n"
            "rc = main(['parse', '--parser', 'ptb', '--format', 'json', '-'])\n"
            "heavy = sorted(m for m in ('torch', 'spacy', 'nltk', 'dgl', 'numpy') if m in sys.modules)\n"
            "print('RC', rc, 'HEAVY', heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], input=b"(3 (2 a) (4 b))\n", capture_output=True,
                          cwd=ROOT, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert '"label": "3"' in out and out.strip().endswith("RC 0 HEAVY []")


def test_pyproject_lists_every_package_and_maps_the_corpora():
    import tomllib

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    mapped = {"treernn.data.ambiguity": "corpora/ambiguity", "treernn.data.grammars": "corpora/grammars"}
    assert set(setup["packages"]) == found | set(mapped)
    assert setup["package-dir"] == mapped and all((ROOT / d / "__init__.py").is_file() for d in mapped.values())
    assert not (PACKAGE / "data" / "ambiguity").exists() and not (PACKAGE / "data" / "grammars").exists()  # one copy
