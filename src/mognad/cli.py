"""The ``mognad`` command: a thin layer over the same functions the notebooks call.

User mistakes (:class:`~mognad.errors.MognadError`) print one clear message and exit with code 2,
without a traceback.
"""

from __future__ import annotations

import json
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


@app.command()
def init(
    study: Annotated[Path, typer.Argument(help="Folder for the new study.")],
    codebook: Annotated[str | None, typer.Option(help="Codebook YAML or bundled id.")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Do nothing if it exists.")] = False,
) -> None:
    """Create an empty study (store, codebook copy, pseudonymisation key)."""
    from mognad.store import init_study

    path = init_study(study, codebook=codebook, exist_ok=exist_ok)
    typer.echo(f"study ready: {path}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    study: StudyOpt,
    kind: Annotated[
        str | None,
        typer.Option(help="organisations, responses, invitations or events (detected if omitted)."),
    ] = None,
) -> None:
    """Validate files and add them to the study, each file all or nothing."""
    from mognad.ingest import ingest as run_ingest

    def show(res) -> None:
        if res.status == "added":
            typer.echo(f"  {res.file}: {res.kind}, {res.rows_read} rows read, "
                       f"{res.rows_added} added")
        elif res.status == "unchanged":
            typer.echo(f"  {res.file}: {res.kind}, unchanged (same content ingested before), "
                       "0 added")
        else:
            typer.echo(f"  {res.file}: REJECTED", err=True)

    run_ingest(files, study=study, kind=kind, on_result=show)


@app.command()
def info(
    study: StudyOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Row counts per table, rounds, organisations and provenance of a study."""
    from mognad.store import open_study

    summary = open_study(study).info()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    typer.echo(f"study:       {summary['study']}")
    typer.echo(f"codebook:    {summary['codebook']['id']}")
    typer.echo(f"synthetic:   {'yes' if summary['synthetic'] else 'no'}")
    typer.echo(f"fingerprint: {summary['fingerprint'][:16]}…")
    typer.echo("rows:        " + ", ".join(f"{k} {v}" for k, v in summary["counts"].items()))
    for r in summary["rounds"]:
        typer.echo(f"  round {r['round']}: {r['organisations']} organisations, "
                   f"{r['respondents']} respondents")
    typer.echo(f"files:       {len(summary['provenance'])} ingested")


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
) -> None:
    """Scores per organisation and round at every level, with intervals and type probabilities."""
    from mognad.scoring import scores_with_types
    from mognad.store import open_study

    st = open_study(study)
    extra = tuple(by or ())
    for b in extra:
        if b not in ("unit", "role"):
            raise MognadError(f"--by takes unit or role; got {b!r}")
    table = scores_with_types(_round_filter(st, round_), codebook=st.codebook,
                              by=("org_id", "round", *extra), n_boot=n_boot, seed=seed)
    from mognad.export import export_table

    export_table(table, out, format="csv", provenance=_provenance(st, n_boot=n_boot, seed=seed))
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
    """Cronbach's alpha, McDonald's omega and CFA fit per category and dimension."""
    import pandas as pd

    from mognad.psychometrics import cfa, reliability_table
    from mognad.store import open_study

    st = open_study(study)
    resp = _round_filter(st, round_)
    table = reliability_table(resp, codebook=st.codebook)
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        typer.echo(f"Reliability, round {round_} ({st.codebook.id})")
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
    from mognad.export import export_responses_wide, export_table
    from mognad.store import open_study

    st = open_study(study)
    resp = _round_filter(st, round_)
    if what == "scores":
        from mognad.scoring import scores_with_types

        frame = scores_with_types(resp, codebook=st.codebook)
    elif what == "responses":
        frame = export_responses_wide(resp, codebook=st.codebook)
    else:
        raise MognadError(f"--what takes scores or responses; got {what!r}")
    path = export_table(frame, out, format=fmt, codebook=st.codebook,
                        provenance=_provenance(st, what=what, round=round_))
    typer.echo(f"wrote {path}: {len(frame)} rows")


def main() -> None:
    """Entry point: run the app, turning user mistakes into exit code 2 without a traceback."""
    try:
        app()
    except MognadError as exc:
        _echo_err(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _echo_err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
