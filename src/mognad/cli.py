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
