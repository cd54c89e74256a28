"""The package's layers: each module imports only from the layers below it.

core (errors, codebook) → io/ (every input format, the store, exports) → analyses (DataFrames in,
DataFrames out) → views/ (study-aware assemblers) → present/ (texts, formats, tables, plots) →
report/ (execution, export, batch) → cli. The façade ``mognad/__init__.py`` may name anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mognad

ROOT = Path(mognad.__file__).resolve().parent
ORDER = {"core": 0, "io": 1, "analysis": 2, "views": 3, "present": 4, "report": 5, "cli": 6}



def layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__version__":
        return None  # the façade / package metadata
    top = parts[1]
    if top in ("errors", "codebook"):
        return "core"
    if top in ("io", "views", "present", "report"):
        return top
    if top == "cli":
        return "cli"
    return "analysis"


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mognad"):
            if node.module == "mognad":
                found.update(f"mognad.{a.name}" for a in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mognad."))
    return found


def test_modules_import_only_layers_below():
    upward = set()
    for path in ROOT.rglob("*.py"):
        module = "mognad." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        own = layer(module)
        if own is None:
            continue
        for target in imports(path):
            other = layer(target)
            if other is not None and ORDER[other] > ORDER[own]:
                upward.add((module, target))
    assert not upward, f"imports from a higher layer: {sorted(upward)}"
