"""No module imports upward: the math knows no model, the models know no algorithm."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spectrex"

#: package → spectrex modules it must never import (directly or lazily inside a function)
FORBIDDEN = {
    "transforms": ("design", "decoders", "estimators", "engine", "models", "api", "workflows", "runs", "report", "cli"),
    "design": ("decoders", "estimators", "engine", "models", "api", "workflows", "runs", "report", "cli"),
    "decoders": ("estimators", "engine", "models", "api", "workflows", "runs", "report", "cli"),
    # models share the retry policy (spectrex/retry.py) with the engine but never import it
    "models": ("design", "decoders", "estimators", "engine", "api", "workflows", "runs", "report", "cli"),
    "parts": ("design", "decoders", "estimators", "engine", "models", "api", "workflows", "runs", "report", "cli"),
}


def _imports(path: Path) -> set[str]:
    """The spectrex top-level modules ``path`` imports (relative imports resolved)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").startswith("spectrex."):
                out.add(node.module.split(".")[1])
            elif node.level == 1:  # inside the package itself
                continue
            elif node.level == 2 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 2:  # from .. import x
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("spectrex."))
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_upward(package):
    bad = {
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / package).rglob("*.py"))
        for name in _imports(path)
        if name in FORBIDDEN[package]
    }
    assert not bad, sorted(bad)
