"""The ``mognad`` command: a thin layer over the same functions the notebooks call.

User mistakes (:class:`~mognad.errors.MognadError`) print one clear message and exit with code 2,
without a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from mognad.errors import MognadError

app = typer.Typer(
    name="mognad",
    help="Research workbench for digital maturity in the Swedish public sector.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StudyOpt = Annotated[Path, typer.Option("--study", "-s", help="The study folder.")]


def _echo_err(message: str) -> None:
    typer.echo(message, err=True)


# str, not Path: the key file's problems (unreadable, damaged, a folder) are explained by
# mognad.io.store.load_key, in the same words for the CLI and the Python API.
KeyOpt = Annotated[
    str | None,
    typer.Option("--key", help="The pseudonymisation key file (default: $MOGNAD_KEY_FILE, else "
                               "~/.config/mognad/keys/<study-id>.key). Keep it outside the study."),
]


@app.command()
def init(
    study: Annotated[Path, typer.Argument(help="Folder for the new study.")],
    codebook: Annotated[str | None, typer.Option(help="Codebook YAML or bundled id.")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Do nothing if it exists.")] = False,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Key file to use, created if it does not exist (default: "
                                   "$MOGNAD_KEY_FILE, else ~/.config/mognad/keys/<study-id>.key)."),
    ] = None,
) -> None:
    """Create an empty study (store, codebook copy) and its pseudonymisation key outside it."""
    from mognad.io.store import DB_NAME, init_study, open_study

    existed = (study / DB_NAME).is_file()
    path = init_study(study, codebook=codebook, exist_ok=exist_ok, key=key)
    typer.echo(f"study {'exists, left as it is' if existed else 'ready'}: {path}")
    with open_study(path, key_file=key) as st:
        _echo_key(st.key_status())


def _echo_key(status: dict) -> None:
    """One or two lines on where the key is expected and whether it is usable (never the key)."""
    where = {"--key": "given with --key", "default": "default place"}.get(
        status["source"], f"from {status['source']}")
    if status["key_in_study_folder"]:
        typer.echo("key:         WARNING: the pseudonymisation key is inside the study folder "
                   "(pseudonym.key); anyone with the folder can re-identify respondents",
                   err=True)
        typer.echo(f"             {status['problem']}", err=True)
        return
    if status["path"] is None:
        typer.echo(f"key:         not recorded: {status['problem']}")
        return
    if status["matches"]:
        state = "present, belongs to this study"
    elif status["matches"] is False:
        state = "WRONG KEY: does not belong to this study"
    elif not status["present"]:
        state = "not present (needed only to ingest respondent files)"
    else:
        state = "UNUSABLE: " + (status["problem"] or "")
    typer.echo(f"key:         {status['path']} ({where}): {state}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    study: StudyOpt,
    kind: Annotated[
        str | None,
        typer.Option(help="organisations, responses, invitations or events (detected if omitted)."),
    ] = None,
    allow_missing_items: Annotated[
        bool,
        typer.Option("--allow-missing-items",
                     help="Accept wide responses files without some item columns (warns)."),
    ] = False,
    max_file_size: Annotated[
        float | None,
        typer.Option("--max-file-size", metavar="MB",
                     help="Size limit per file in MB (default $MOGNAD_MAX_FILE_MB or 512)."),
    ] = None,
    key: KeyOpt = None,
) -> None:
    """Validate files and add them to the study, each file all or nothing."""
    from mognad.io.ingest import ingest as run_ingest
    from mognad.io.store import open_study

    if max_file_size is not None and max_file_size <= 0:
        raise MognadError(f"--max-file-size takes a positive number of MB; got {max_file_size}")

    def show(res) -> None:
        if res.status == "added":
            typer.echo(f"  {res.file}: {res.kind}, {res.rows_read} rows read, "
                       f"{res.rows_added} added")
        elif res.status == "unchanged":
            typer.echo(f"  {res.file}: {res.kind}, unchanged (same content ingested before), "
                       "0 added")
        else:
            typer.echo(f"  {res.file}: REJECTED", err=True)
        for warning in res.warnings:
            typer.echo(f"  warning: {warning}", err=True)

    with open_study(study, key_file=key) as st:
        run_ingest(files, study=st, kind=kind, allow_missing_items=allow_missing_items,
                   max_file_bytes=None if max_file_size is None else int(max_file_size * (1 << 20)),
                   on_result=show)


@app.command()
def info(
    study: StudyOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    key: KeyOpt = None,
) -> None:
    """Row counts, rounds, provenance, and where the study's key is expected (never the key)."""
    from mognad.io.store import open_study

    with open_study(study, key_file=key) as st:
        summary = st.info()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    typer.echo(f"study:       {summary['study']}")
    typer.echo(f"codebook:    {summary['codebook']['id']}")
    typer.echo(f"synthetic:   {'yes' if summary['synthetic'] else 'no'}")
    typer.echo(f"fingerprint: {summary['fingerprint'][:16]}…")
    _echo_key(summary["key"])
    typer.echo("rows:        " + ", ".join(f"{k} {v}" for k, v in summary["counts"].items()))
    for r in summary["rounds"]:
        typer.echo(f"  round {r['round']}: {r['organisations']} organisations, "
                   f"{r['respondents']} respondents")
    typer.echo(f"files:       {len(summary['provenance'])} ingested")


key_app = typer.Typer(help="The study's pseudonymisation key (kept outside the study folder).",
                      no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("move")
def key_move(
    study: StudyOpt,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Where the key goes (default: ~/.config/mognad/keys/"
                                   "<study-id>.key); for a study whose key was moved by hand, "
                                   "the key file to register."),
    ] = None,
) -> None:
    """Move an old study's key (STUDY/pseudonym.key) out of the study folder."""
    from mognad.io.store import KEY_WARNING, move_key

    target = move_key(study, key=key)
    typer.echo(f"key moved: {target} (the study folder no longer contains it)")
    typer.echo(f"{KEY_WARNING} Copies of the study folder made before this still contain the "
               "key: treat them as secret or delete them.", err=True)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Output folder.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 20240501,
    profile: Annotated[str, typer.Option(help="national (about 300 orgs) or small.")] = "national",
    codebook: Annotated[str | None, typer.Option(help="Codebook YAML or bundled id.")] = None,
) -> None:
    """Write a synthetic national study (inputs, case-study inputs and truth.json)."""
    from mognad.synth import synthesize

    paths = synthesize(out, seed=seed, profile=profile, codebook=codebook)
    typer.echo(f"synthetic study written to {out} ({len(paths)} files, seed {seed}, "
               f"profile {profile})")


def _round_filter(study, round_: int | None):
    """The study's responses for one round (all rounds when ``round_`` is None)."""
    if round_ is not None and round_ not in study.rounds:
        raise MognadError(f"round {round_} is not in the study; rounds: {study.rounds}")
    return study.responses_for(round=round_)


@app.command()
def score(
    study: StudyOpt,
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    round_: Annotated[int | None, typer.Option("--round", help="Only this round.")] = None,
    by: Annotated[
        list[str] | None, typer.Option(help="Add unit or role to the groups (repeatable).")
    ] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    method: Annotated[
        str, typer.Option(help="Interval: t (default; holds in small groups) or bootstrap.")
    ] = "t",
    ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
) -> None:
    """Scores per organisation and round at every level, with intervals and type probabilities.

    Same files and same seed give byte-identical output in any study (the resampling does not
    depend on pseudonyms or ingest order).
    """
    from mognad.io.store import open_study
    from mognad.scoring import RESAMPLING, scores_with_types

    st = open_study(study)
    extra = tuple(by or ())
    for b in extra:
        if b not in ("unit", "role"):
            raise MognadError(f"--by takes unit or role; got {b!r}")
    if method not in ("t", "bootstrap"):
        raise MognadError(f"--method takes t or bootstrap; got {method!r}")
    table = scores_with_types(_round_filter(st, round_), codebook=st.codebook,
                              by=("org_id", "round", *extra), n_boot=n_boot, seed=seed,
                              method=method, ci=ci)
    from mognad.io.export import export_table

    export_table(table, out, format="csv", provenance=_provenance(
        st, round=round_, by=["org_id", "round", *extra], interval_method=method, ci=ci,
        n_boot=n_boot, seed=seed, resampling=RESAMPLING))
    n_groups = len(table.drop_duplicates(["org_id", "round", *extra]))
    typer.echo(f"wrote {out}: {len(table)} rows, {n_groups} groups"
               + (" (SYNTETISKA DATA)" if st.is_synthetic else ""))


def _provenance(st, **parameters) -> dict:
    from mognad import __version__

    return {
        "study": str(st.path),
        "data_fingerprint": st.fingerprint,
        "codebook": st.codebook.id,
        "codebook_sha256": st.codebook.fingerprint,
        "synthetic": st.is_synthetic,
        "mognad_version": __version__,
        "parameters": parameters,
    }


@app.command()
def reliability(
    study: StudyOpt,
    round_: Annotated[int, typer.Option("--round", help="The measurement round.")],
    cfa_fit: Annotated[bool, typer.Option("--cfa/--no-cfa", help="Also fit the CFA.")] = True,
) -> None:
    """Alpha, omega, hierarchical omega and CFA fit per category, dimension and in total.

    omega is the one-factor omega total; omega_h and omega_total_sl are psych::omega's
    hierarchical omega and Schmid-Leiman omega total with one group factor per category.
    """
    import pandas as pd

    from mognad.io.store import open_study
    from mognad.psychometrics import cfa, reliability_table

    st = open_study(study)
    resp = _round_filter(st, round_)
    table = reliability_table(resp, codebook=st.codebook,
                              by_level=("category", "dimension", "total"))
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        typer.echo(f"Reliability, round {round_} ({st.codebook.id}; listwise complete "
                   "respondents per scale)")
        typer.echo(table.round(3).to_string(index=False))
        if cfa_fit:
            fits = pd.concat([cfa(resp, codebook=st.codebook, model=m).to_frame().assign(model=m)
                              for m in ("categories", "2x3")])
            typer.echo("\nConfirmatory factor analysis (listwise complete respondents)")
            typer.echo(fits.round(3).to_string(index=False))


@app.command()
def export(
    study: StudyOpt,
    what: Annotated[str, typer.Option(help="scores or responses.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, xlsx, parquet or sav (default: suffix).")
    ] = None,
    round_: Annotated[int | None, typer.Option("--round", help="Only this round.")] = None,
) -> None:
    """Export scores or (pseudonymous) responses for other tools; SPSS files carry labels."""
    from mognad.io.export import export_responses_wide, export_table
    from mognad.io.store import open_study

    st = open_study(study)
    resp = _round_filter(st, round_)
    params = {"what": what, "round": round_}
    if what == "scores":
        from mognad.scoring import DEFAULT_METHOD, RESAMPLING, scores_with_types

        frame = scores_with_types(resp, codebook=st.codebook, n_boot=1000, seed=0)
        params |= {"interval_method": DEFAULT_METHOD, "ci": 0.95, "n_boot": 1000, "seed": 0,
                   "resampling": RESAMPLING}
    elif what == "responses":
        frame = export_responses_wide(resp, codebook=st.codebook)
    else:
        raise MognadError(f"--what takes scores or responses; got {what!r}")
    path = export_table(frame, out, format=fmt, codebook=st.codebook,
                        provenance=_provenance(st, **params))
    typer.echo(f"wrote {path}: {len(frame)} rows")


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in text.split(",") if f.strip())
    bad = [f for f in formats if f not in ("html", "pdf")]
    if bad or not formats:
        raise MognadError(f"--format takes html, pdf or html,pdf; got {text!r}")
    return formats


def _extra_parameters(items: list[str] | None) -> dict:
    import ast

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise MognadError(f"-p takes NAME=VALUE; got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _warm_up(nb, st, *, engine: str, workers: int | None, formats) -> None:
    """Start the warm report workers (imports, browser) in the background, right away."""
    import os

    from mognad.report._executor import warm_up
    from mognad.report.render import find_chromium

    chromium = None
    if "pdf" in formats:
        try:
            chromium = find_chromium()
        except MognadError:
            chromium = None  # reported properly when the reports run
    warm_up(nb, parameters={"study": str(Path(st.path).resolve())}, engine=engine,
            workers=workers or os.cpu_count() or 1, chromium=chromium)


NotebookArg = Annotated[str, typer.Argument(help="Notebook path or name, e.g. organisation_report.")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="More notebook parameters NAME=VALUE.")
]


@app.command()
def report(
    notebook: NotebookArg,
    study: StudyOpt,
    round_: Annotated[int | None, typer.Option("--round", help="The measurement round.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation id.")] = None,
    lang: Annotated[str, typer.Option(help="sv (default) or en.")] = "sv",
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or html,pdf.")] = "html,pdf",
    out: Annotated[Path | None, typer.Option(help="Output folder (default reports/<round>/).")]
    = None,
    engine: Annotated[str, typer.Option(help="fast (warm workers) or papermill.")] = "fast",
    param: ParamOpt = None,
) -> None:
    """Run one report notebook into HTML and PDF (plus <report>.results.json)."""
    from mognad.io.store import open_study
    from mognad.present.numbers import check_lang
    from mognad.report.jobs import fill_parameters, report_stem, resolve_notebook
    from mognad.report.render import render_report

    check_lang(lang)
    formats = _formats(fmt)
    st = open_study(study)
    nb = resolve_notebook(notebook)
    _warm_up(nb, st, engine=engine, workers=1, formats=formats)
    params = fill_parameters(nb, study=st, round=round_, org_id=org, lang=lang,
                             extra=_extra_parameters(param))
    out_dir = out or Path("reports") / (str(round_) if round_ is not None else "other")
    stem = report_stem(nb, study=st, org_id=org, round=round_, parameters=params, lang=lang)
    result = render_report(nb, parameters=params, out_dir=out_dir, stem=stem,
                           formats=formats, engine=engine, progress=True)
    for kind, path in sorted(result.outputs.items()):
        typer.echo(f"  {kind}: {path}")


@app.command()
def cases(
    study: StudyOpt,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("reports/cases"),
    lang: Annotated[str, typer.Option(help="sv (default) or en.")] = "sv",
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or html,pdf.")] = "html,pdf",
    engine: Annotated[str, typer.Option(help="fast (warm workers) or papermill.")] = "fast",
) -> None:
    """Every case-study report the study holds, named after its case, and <out>/index.html.

    One failing report never stops the others; the exit code is 1 when any failed.
    """
    import datetime as _dt

    from tqdm import tqdm

    from mognad import __version__
    from mognad.io.store import open_study
    from mognad.present.cases import case_index_page, case_reports
    from mognad.present.numbers import check_lang
    from mognad.report.jobs import fill_parameters, resolve_notebook
    from mognad.report.render import ReportError, _atomic_write_text, render_report

    check_lang(lang)
    formats = _formats(fmt)
    st = open_study(study)
    entries = case_reports(st, lang=lang)
    if not entries:
        raise MognadError(f"{st.path} holds no case-study data (request logs, budgets, course "
                          "answers, reorganisation events)")
    out.mkdir(parents=True, exist_ok=True)
    for entry in tqdm(entries, desc="Fallstudier" if lang == "sv" else "Case studies",
                      unit="st"):
        nb = resolve_notebook(entry["notebook"])
        extra = dict(entry["parameters"])
        params = fill_parameters(nb, study=st, round=None, org_id=extra.pop("org_id", None),
                                 lang=lang, extra=extra)
        stem = entry["file"].removesuffix(".html")
        try:
            result = render_report(nb, parameters=params, out_dir=out, stem=stem,
                                   formats=formats, engine=engine)
        except ReportError as exc:
            entry.update(status="failed", error=exc.last_line)
            typer.echo(f"  FAILED {stem}: {exc.last_line}", err=True)
            continue
        entry.update(status="ok", files={k: Path(v).name for k, v in result.outputs.items()})
    created = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    page = case_index_page(entries, lang=lang, synthetic=st.is_synthetic, created=created,
                           version=__version__)
    _atomic_write_text(out / "index.html", page)
    typer.echo(f"open {(out / 'index.html').resolve()}")
    if any(e["status"] != "ok" for e in entries):
        raise typer.Exit(1)


@app.command()
def batch(
    notebook: NotebookArg,
    study: StudyOpt,
    round_: Annotated[int, typer.Option("--round", help="The measurement round.")],
    orgs: Annotated[list[str] | None, typer.Option("--orgs", help="Organisation ids.")] = None,
    all_orgs: Annotated[bool, typer.Option("--all", help="Every organisation of the round.")]
    = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default reports/<round>/).")]
    = None,
    lang: Annotated[str, typer.Option(help="sv (default) or en.")] = "sv",
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or html,pdf.")] = "html,pdf",
    timeout: Annotated[float, typer.Option(help="Seconds per report.")] = 600,
    engine: Annotated[str, typer.Option(help="fast (warm workers) or papermill.")] = "fast",
    param: ParamOpt = None,
) -> None:
    """One report per organisation: parallel, resumable, with a manifest and index.html.

    One failing organisation never stops the batch; the exit code is 1 when any report failed.
    """
    from mognad.io.store import open_study
    from mognad.present.numbers import check_lang
    from mognad.report.batch import batch_failed, run_batch
    from mognad.report.jobs import (
        fill_parameters,
        notebook_parameters,
        organisations_in_round,
        report_stem,
        resolve_notebook,
    )

    check_lang(lang)
    formats = _formats(fmt)
    st = open_study(study)
    nb = resolve_notebook(notebook)
    if bool(orgs) == all_orgs:
        raise MognadError("give either --orgs ID … or --all")
    if scheduler is None:  # warm workers start now, while the national figures are computed
        _warm_up(nb, st, engine=engine, workers=jobs, formats=formats)
    org_ids = [str(o) for o in orgs] if orgs else organisations_in_round(st, round_, nb)
    if not org_ids:
        raise MognadError(f"no organisations with data in round {round_} for {nb.name}")
    extra = _extra_parameters(param)
    declared = notebook_parameters(nb)
    if "round" in declared and "org_id" in declared:
        # national figures once per batch, cached in the store for every report to read
        from mognad.views.national import national_round
        from mognad.views.organisation import national_grouping

        typer.echo(f"national figures for {round_} …")
        peer = extra.get("peer_group", "auto")
        national_round(st, round_, n_boot=int(extra.get("n_boot", 1000)),
                       seed=int(extra.get("seed", 0)),
                       peer=national_grouping(peer))  # what the profile reads
    names = st.organisation_names
    job_list = [
        {"stem": report_stem(nb, study=st, org_id=o, round=round_, names=names),
         "parameters": fill_parameters(nb, study=st, round=round_, org_id=o, lang=lang,
                                       extra=extra, declared=declared),
         "label": f"{o} {names.get(o, '')}".strip()}
        for o in org_ids
    ]
    out_dir = out or Path("reports") / str(round_)
    manifest = run_batch(nb, jobs=job_list, out_dir=out_dir, jobs_n=jobs, scheduler=scheduler,
                         timeout=timeout, formats=formats, engine=engine, lang=lang,
                         data_fingerprint=st.fingerprint)
    counts = manifest["status"].value_counts().to_dict()
    typer.echo(f"{len(manifest)} reports: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    typer.echo(f"open {(out_dir / 'index.html').resolve()}")
    if batch_failed(manifest):
        for _, row in manifest[manifest["status"] == "failed"].iterrows():
            typer.echo(f"  FAILED {row.get('stem', '')}: {row.get('reason', '')}", err=True)
        for name, reason in manifest.attrs.get("write_errors", {}).items():
            typer.echo(f"  could not write {out_dir / name}: {reason}", err=True)
        typer.echo(f"  details: {(out_dir / 'manifest.json').resolve()}", err=True)
        raise typer.Exit(1)


def _setup_logging() -> None:
    """mognad's own notes (store busy: info; key written: warning) go to stderr, one plain line
    each. Without this handler (in notebooks and reports) only warnings show."""
    logger = logging.getLogger("mognad")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_LowerLevel())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _LowerLevel(logging.Formatter):
    """``warning: message`` (a logging formatter without the logger name or time)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _os_error_message(exc: OSError) -> str | None:
    """A clear message for the OS errors a user causes (permissions, read-only or full disk)."""
    import errno

    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied: {exc.filename or ''} ({exc.strerror}); nothing was changed"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: {exc.filename or ''} ({exc.strerror})"
    return None


def main() -> None:
    """Entry point: run the app, turning user mistakes into exit code 2 without a traceback.

    Besides :class:`~mognad.errors.MognadError`, a store another process keeps locked and the
    operating system's permission and disk-full errors are user-side problems: one line, exit 2.
    Anything else is a bug in mognad and keeps its traceback.
    """
    _setup_logging()
    try:
        app()
    except MognadError as exc:
        _echo_err(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _echo_err("interrupted")
        sys.exit(130)
    except OSError as exc:
        message = _os_error_message(exc)
        if message is None:
            raise
        _echo_err(f"error: {message}")
        sys.exit(2)
    except Exception as exc:
        import duckdb

        if isinstance(exc, duckdb.Error) and ("Could not set lock" in str(exc)
                                              or "Conflicting lock" in str(exc)):
            _echo_err("error: store busy: another mognad process is writing to the study; try "
                      "again when it has finished")
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
