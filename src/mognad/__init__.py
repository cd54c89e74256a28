"""mognad: a research workbench for digital maturity in the Swedish public sector.

The public façade: what a researcher calls from a notebook. Implementation modules may change.

>>> import mognad
>>> study = mognad.open_study("data/demo/study")              # doctest: +SKIP
>>> scores = mognad.score(study.responses_for(round=2024))    # doctest: +SKIP
"""

# Lazy façade (PEP 562): ``import mognad`` stays fast for the command line; each name is
# imported from its module on first use.
_EXPORTS = {
    "compare_to_peers": "benchmark", "peer_distribution": "benchmark",
    "weakest_categories": "benchmark",
    "Codebook": "codebook", "load_codebook": "codebook",
    "check_disclosure": "disclosure", "merge_small_peer_groups": "disclosure",
    "suppress": "disclosure",
    "CodebookError": "errors", "MognadError": "errors", "ValidationError": "errors",
    "ingest": "io.ingest",
    "national_round": "views.national",
    "bartlett_sphericity": "psychometrics", "cfa": "psychometrics",
    "cronbach_alpha": "psychometrics", "kmo": "psychometrics", "mcdonald_omega": "psychometrics",
    "reliability_table": "psychometrics",
    "bootstrap_scores": "scoring", "classify": "scoring", "rank_in_peers": "scoring",
    "score": "scoring", "scores_with_types": "scoring", "to_long": "scoring",
    "init_study": "io.store", "open_study": "io.store",
    "synthesize": "synth",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f"mognad.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mognad' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"

__all__ = [
    "Codebook",
    "CodebookError",
    "MognadError",
    "ValidationError",
    "__version__",
    "bartlett_sphericity",
    "bootstrap_scores",
    "cfa",
    "check_disclosure",
    "classify",
    "compare_to_peers",
    "cronbach_alpha",
    "ingest",
    "init_study",
    "kmo",
    "load_codebook",
    "mcdonald_omega",
    "merge_small_peer_groups",
    "national_round",
    "open_study",
    "peer_distribution",
    "rank_in_peers",
    "reliability_table",
    "score",
    "scores_with_types",
    "suppress",
    "synthesize",
    "to_long",
    "weakest_categories",
]
