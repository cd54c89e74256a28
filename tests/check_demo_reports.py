"""Render every report kind from a study in Swedish and English (HTML and PDF) and check each.

The checks are the report tests' own (``tests/_report_checks.py``): only the report renderer's
tables (no pandas index column), no ``NaN``/``None``, no decimal point or hyphen minus in
Swedish numbers, and every word of every column header in the PDF's text (no column cut off
at the right margin). The first page of each PDF is also written as a PNG, to be looked at.

The test suite runs the same checks on the small synthetic study; this script runs them on the
demo-sized one (``make demo`` builds it), which has longer tables and more organisations::

    .venv/bin/python tests/check_demo_reports.py                  # data/demo/study
    .venv/bin/python tests/check_demo_reports.py --study S --out reports/check

Exit status 1 when any report fails a check (each failure is printed with its reason).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report_checks import (  # noqa: E402
    REPORTS,
    assert_no_raw_tables,
    assert_pdf_has_every_header,
    assert_publishable,
    report_parameters,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "data" / "demo" / "study"))
    parser.add_argument("--out", default=str(ROOT / "reports" / "check"))
    args = parser.parse_args(argv)

    from mognad.errors import MognadError
    from mognad.io.store import open_study
    from mognad.report.render import render_report, report_text

    study = Path(args.study).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        open_study(study)
    except MognadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failures = 0
    for notebook, params in REPORTS:
        for lang in ("sv", "en"):
            start = time.perf_counter()
            stem = f"{notebook}-{lang}"
            try:
                result = render_report(ROOT / "notebooks" / f"{notebook}.ipynb",
                                       parameters=report_parameters(study, notebook, params,
                                                                    lang),
                                       out_dir=out, stem=stem, formats=("html", "pdf"))
                html = result.html.read_text(encoding="utf-8")
                assert_no_raw_tables(html)
                assert_publishable(report_text(html), lang)
                assert_pdf_has_every_header(html, result.pdf)
            except (AssertionError, MognadError) as exc:
                failures += 1
                print(f"FAIL {notebook:<22} {lang}  {type(exc).__name__}: {str(exc)[:300]}")
                continue
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", "1", "-l",
                                "1", str(result.pdf), str(out / f"{stem}-page1")], check=False)
            print(f"ok   {notebook:<22} {lang}  {time.perf_counter() - start:5.1f} s")
    print(f"{failures} of {2 * len(REPORTS)} reports failed a check; pages in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
