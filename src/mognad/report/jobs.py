"""What to run: resolve a report notebook by name, fill its parameters from a study, and build
the list of reports of a batch (one per organisation) with their file names.

Used by ``mognad report`` and ``mognad batch``; the running itself is :mod:`mognad.report.render`
and :mod:`mognad.report.batch`.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from mognad.errors import MognadError
from mognad.io.store import Study


def notebook_dirs() -> list[Path]:
    """Where notebooks are looked up by name: ``./notebooks``, the project's ``notebooks/`` and
    the notebooks shipped inside the installed package."""
    here = Path(__file__).resolve().parent
    # ./notebooks, the source checkout's notebooks/, the copy inside an installed wheel
    return [Path.cwd() / "notebooks", here.parents[2] / "notebooks", here.parent / "notebooks"]


def resolve_notebook(name: str | Path) -> Path:
    """A notebook path from a path or a bare name such as ``organisation_report``.

    Examples
    --------
    >>> resolve_notebook("organisation_report").name
    'organisation_report.ipynb'
    """
    path = Path(name)
    if path.is_file():
        return path.resolve()
    stem = path.name if path.suffix == ".ipynb" else f"{path.name}.ipynb"
    for folder in notebook_dirs():
        if (folder / stem).is_file():
            return (folder / stem).resolve()
    known = sorted({p.stem for d in notebook_dirs() if d.is_dir() for p in d.glob("*.ipynb")})
    raise MognadError(f"no notebook {str(name)!r}; known notebooks: {', '.join(known)}")


def notebook_parameters(notebook: Path) -> dict[str, str]:
    """The notebook's parameters (names and default source text) from its tagged cell."""
    from mognad.report._executor import avoid_slow_imports

    avoid_slow_imports()
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    if not params:
        raise MognadError(f"{notebook.name} has no cell tagged 'parameters'")
    return {name: info["default"] for name, info in params.items()}


def slug(text: str) -> str:
    """A file-name-safe ASCII slug.

    Examples
    --------
    >>> slug("Älvhamns Scenkonst AB"), slug("Region Västra Götaland")
    ('alvhamns-scenkonst-ab', 'region-vastra-gotaland')
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "rapport"


def fill_parameters(notebook: Path, *, study: Study, round: int | None, org_id: str | None,
                    lang: str, extra: dict | None = None,
                    declared: dict[str, str] | None = None) -> dict:
    """Parameters for one run: only those the notebook declares (``year`` takes the round when
    the notebook has no ``round``). The study is passed as an absolute path.

    *declared* (the notebook's :func:`notebook_parameters`) may be given to save reading the
    notebook again for every organisation of a batch.
    """
    declared = declared if declared is not None else notebook_parameters(notebook)
    values = {"study": str(Path(study.path).resolve()), "lang": lang}
    if round is not None:
        values["round" if "round" in declared else "year"] = int(round)
    if org_id is not None:
        if "org_id" not in declared:
            raise MognadError(f"{notebook.name} is not a per-organisation report (no org_id "
                              "parameter); leave out --org")
        values["org_id"] = str(org_id)
    elif "org_id" in declared and "org_ids" not in declared:
        raise MognadError(f"{notebook.name} is a per-organisation report: give --org ID")
    values.update(extra or {})
    unknown = [k for k in values if k not in declared]
    for key in unknown:
        if key in ("lang",):
            values.pop(key)
        else:
            raise MognadError(f"{notebook.name} has no parameter {key!r}; it takes "
                              f"{', '.join(declared)}")
    return values


def report_stem(notebook: Path, *, study: Study, org_id: str | None, round: int | None,
                names: dict[str, str] | None = None, parameters: dict | None = None,
                lang: str = "sv") -> str:
    """The report's file name without extension.

    Case-study reports are named after their case (:func:`mognad.views.cases.report_name`,
    e.g. ``styrning-kustvik-norrsund``); organisation reports ``<org_id>-<slug of the name>``;
    other reports ``<notebook>-<round>``. *names* (``org_id -> name``, e.g. from
    :attr:`Study.organisation_names <mognad.io.store.Study.organisation_names>`) saves a
    query of the registry per organisation in a batch.
    """
    from mognad.views.cases import CASE_NOTEBOOKS, report_name

    if Path(notebook).stem in CASE_NOTEBOOKS:
        params = dict(parameters or {})
        if org_id is not None:
            params["org_id"] = str(org_id)
        return report_name(Path(notebook).stem, study, parameters=params, lang=lang)
    if org_id is not None:
        if names is None:
            names = study.organisation_names
        name = names.get(str(org_id))
        return f"{org_id}-{slug(name) if name else 'okand'}"
    return f"{notebook.stem}-{round}" if round is not None else notebook.stem


def organisations_in_round(study: Study, round: int, notebook: Path) -> list[str]:
    """The organisations a batch covers with ``--all``: those with data for the notebook.

    Survey reports: organisations with respondents in the round. Notebooks with a ``year``
    parameter (DIOS inventories): organisations with systems that year.
    """
    declared = notebook_parameters(notebook)
    if "year" in declared:
        systems = study.table("systems")
        if systems.empty:
            return []
        return sorted(systems.loc[systems["year"].astype(int) == int(round), "org_id"].unique())
    frame = study.sql("SELECT DISTINCT org_id FROM respondents WHERE round = ? ORDER BY 1",
                      [int(round)])
    return frame["org_id"].astype(str).tolist()
