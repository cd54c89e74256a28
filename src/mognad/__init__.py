"""mognad: a research workbench for digital maturity in the Swedish public sector.

The public façade: everything a researcher calls from a notebook is reachable as ``mognad.<name>``
– studies and ingest, scoring, psychometrics, agreement, disclosure control, peer benchmarks,
change over time (``mognad.change``, ``mognad.national_trend``, ``mognad.programme_effect``),
DIOS inventories, governance and case studies, the organisation profile, and running reports
(``mognad.render_report``, ``mognad.run_batch``, ``mognad.record_results``).

The list is generated, never kept by hand: it is the union of the ``__all__`` of the modules
in :data:`FACADE_MODULES`, read from their source on first use (so ``import mognad`` stays fast
for the command line and imports no scientific library). A name that two modules export is
reachable when both mean the same object (a re-export); two different objects under one name
are ambiguous and left out (use ``mognad.<module>.<name>``). Presentation helpers live in
:mod:`mognad.present` and are not part of the façade.

>>> import mognad
>>> study = mognad.open_study("data/demo/study")              # doctest: +SKIP
>>> scores = mognad.score(study.responses_for(round=2024))    # doctest: +SKIP
"""

__version__ = "0.1.0"

#: Modules whose ``__all__`` make up the façade, in layer order.
FACADE_MODULES = (
    "errors", "codebook",
    "io.store", "io.ingest", "io.wide", "io.export",
    "scoring", "intervals", "psychometrics", "agreement", "disclosure", "internal", "benchmark",
    "longitudinal", "dios", "governance", "casestudy", "synth",
    "views.national", "views.organisation", "views.dios", "views.cases",
    "report.render", "report.batch",
)

_REGISTRY: dict[str, str] | None = None
_AMBIGUOUS: dict[str, list[str]] = {}


def _module_all(module: str) -> list[str]:
    """A module's ``__all__`` read from its source (a literal list or tuple), without importing
    it: the assignment is found by a pattern and evaluated with :func:`ast.literal_eval`."""
    import ast
    import re
    from pathlib import Path

    base = Path(__file__).resolve().parent.joinpath(*module.split("."))
    path = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return []
    found = re.search(r"^__all__\s*(?::[^=]*)?=\s*([\[(].*?[\])])\s*$", source, re.M | re.S)
    if found is None:
        return []
    return [str(n) for n in ast.literal_eval(found.group(1))]


def _registry() -> dict[str, str]:
    """``name -> module`` for every façade name (built once, on first use)."""
    global _REGISTRY
    if _REGISTRY is None:
        owners: dict[str, list[str]] = {}
        for module in FACADE_MODULES:
            for name in _module_all(module):
                if not name.startswith("_"):
                    owners.setdefault(name, []).append(module)
        _AMBIGUOUS.clear()
        _AMBIGUOUS.update({n: m for n, m in owners.items() if len(m) > 1})
        _REGISTRY = {n: m[0] for n, m in owners.items() if len(m) == 1}
    return _REGISTRY


def __getattr__(name: str):
    if name == "__all__":
        return sorted([*_registry(), "__version__"])
    registry = _registry()
    if name in registry:
        import importlib

        value = getattr(importlib.import_module(f"mognad.{registry[name]}"), name)
        globals()[name] = value
        return value
    if name in _AMBIGUOUS:
        import importlib

        found = [getattr(importlib.import_module(f"mognad.{m}"), name) for m in _AMBIGUOUS[name]]
        if all(obj is found[0] for obj in found):  # one object re-exported: not ambiguous
            globals()[name] = found[0]
            return found[0]
        where = ", ".join(f"mognad.{m}.{name}" for m in _AMBIGUOUS[name])
        raise AttributeError(f"'mognad.{name}' is ambiguous; use one of {where}")
    raise AttributeError(f"module 'mognad' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_registry()})
