"""The project's habits, checked: `ruff` and `mypy --strict` clean (configured in
pyproject), functions short and simple enough to read, commands documented in a form that
works, and a repository that stands on its own (it points at no document outside itself)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_ruff_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "aggregator", "bench", "tests"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("module", ["bench.run", "bench.latency", "bench.generate"])
def test_benchmark_help_shows_a_form_that_runs(module: str) -> None:
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    usage = proc.stdout.split("\n", 1)[0]
    assert usage.startswith(f"usage: python -m {module} "), usage
    for line in proc.stdout.splitlines():  # every command line the help suggests starts the same way
        if re.match(r"\s+python3? .*bench", line):
            assert line.strip().startswith(f"python -m {module} "), line


def test_repository_points_at_nothing_outside_itself() -> None:
    tracked = subprocess.run(["git", "ls-files", "README.md", "aggregator", "tests", "bench", "config"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    # Documents and trackers outside the repository, spelled in pieces so that this
    # pattern does not name them itself.
    spec, style, issue = "SP" + "EC", "ST" + "YLE", "is" + "sue"
    outside = re.compile(rf"\b{spec}\b|{style}\.md|\.\./shared|\bthe [a-z-]+ {issue}\b|\b{issue} \d+")
    found = [f"{name}: {line.strip()}" for name in tracked
             if (REPO / name).is_file() and name.endswith((".py", ".md", ".yaml"))
             for line in (REPO / name).read_text(encoding="utf-8").splitlines() if outside.search(line)]
    assert found == []


MAX_FUNCTION_LINES = 60


def test_no_function_is_too_long_or_too_complex() -> None:
    """Radon ranks a function E or F above 30 paths through it; and none is longer than a screen."""
    from radon.complexity import cc_rank, cc_visit

    found = []
    for path in sorted((REPO / "aggregator").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(REPO)
        found += [f"{rel}:{block.lineno} {block.name} ranks {cc_rank(block.complexity)} ({block.complexity})"
                  for block in cc_visit(text) if cc_rank(block.complexity) in ("E", "F")]
        found += [f"{rel}:{node.lineno} {node.name} has {node.end_lineno - node.lineno + 1} lines"
                  for node in ast.walk(ast.parse(text))
                  if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
                  and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert found == []
