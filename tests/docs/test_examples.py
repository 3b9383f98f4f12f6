"""Every example of the README and the manual: Python blocks run as written (in a scratch
directory), shell lines that run treernn parsed by the current command line with each
``--section.key`` setting checked (nothing is run), scripts they name present, TOML space files
read by ``treernn tune``'s reader. A renamed option, module or script fails here."""

from __future__ import annotations

import shutil
import sys

import pytest

from examples import ROOT, blocks, inline_commands, pages, shell_commands, treernn_arguments

ALL = [b for page in pages() for b in blocks(page)]
PYTHON = [b for b in ALL if b.lang == "python"]
SHELL = [b for b in ALL if b.lang == "bash"]
TOML = [b for b in ALL if b.lang == "toml"]
INLINE = sorted({(str(p.relative_to(ROOT)), c) for p in pages() for c in inline_commands(p)})


def test_the_collector_finds_the_examples():
    # a collector that silently found nothing would make every test below pass
    assert len(PYTHON) >= 6 and len(SHELL) >= 20 and len(INLINE) >= 15
    assert any(b.path.name == "README.md" for b in PYTHON)


@pytest.fixture(scope="module")
def server_url():
    from treernn.errors import ServerError
    from treernn.serve.launch import start_server

    try:
        proc, url = start_server(["--port", "0", "--model-processes", "1"], timeout=180)
    except ServerError as exc:
        raise AssertionError(f"the server did not start: {exc}") from None
    yield url
    proc.terminate()
    proc.wait(30)


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_example_runs(block, tmp_path, monkeypatch, request, capsys):
    code = block.code
    what, _, arg = (block.marker or "").partition(" ")
    if what == "server":
        code = code.replace("http://127.0.0.1:9000", request.getfixturevalue("server_url"))
    elif what == "model-dir":
        from treernn.resources import bundled_model_dir

        shutil.copytree(bundled_model_dir(), tmp_path / arg)
    elif what:
        pytest.fail(f"{block.id}: unknown example marker {block.marker!r}")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__example__"}
    exec(compile(code, block.id, "exec"), namespace)
    capsys.readouterr()


def _check(line: list[str], where: str) -> None:
    from treernn.cli import check_command_line
    from treernn.errors import TreernnError

    try:
        check_command_line(line)
    except SystemExit as exc:
        if exc.code == 0:  # --help, --version
            return
        pytest.fail(f"{where}: `treernn {' '.join(line)}` is not accepted by the command line (exit {exc.code})")
    except TreernnError as exc:
        pytest.fail(f"{where}: `treernn {' '.join(line)}`: {exc}")


@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_shell_example_is_current(block):
    for words in shell_commands(block.code):
        args = treernn_arguments(words)
        if args is not None:
            _check(args, block.id)
            continue
        program = words[1] if words[0] in ("python", "python3", "bash") and len(words) > 1 else words[0]
        if "/" in program and not program.startswith(("/", "..", "$")) and not program.startswith(".venv"):
            assert (ROOT / program).exists(), f"{block.id}: {program} does not exist"


@pytest.mark.parametrize("page,line", INLINE, ids=[f"{p}: {c[:60]}" for p, c in INLINE])
def test_inline_command_is_current(page, line):
    import shlex

    _check(shlex.split(line)[1:], page)


@pytest.mark.parametrize("block", TOML, ids=[b.id for b in TOML])
def test_toml_space_example_reads(block, tmp_path):
    from treernn.training.tune import parse_space, read_space_file

    path = tmp_path / "space.toml"
    path.write_text(block.code, encoding="utf-8")
    assert parse_space(read_space_file(str(path)), str(path))


def test_version_is_the_changelogs():
    import re
    import subprocess

    import treernn

    newest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert newest, "CHANGELOG.md has no released version"
    out = subprocess.run([sys.executable, "-m", "treernn", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"treernn {newest.group(1)}" == f"treernn {treernn.__version__}"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{newest.group(1)}"\n' in pyproject
