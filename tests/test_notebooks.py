"""Notebooks are executed on the small synthetic study (papermill, a real kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run(notebook: str, tmp_path, **parameters) -> dict:
    out = tmp_path / f"executed-{notebook}"
    pm.execute_notebook(str(NOTEBOOKS / notebook), str(out), parameters=parameters,
                        kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False,
                        log_output=False)
    return json.loads(out.read_text(encoding="utf-8"))


def outputs_text(nb: dict) -> str:
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]))
            for key in ("text/plain", "text/markdown", "text/html"):
                if key in out.get("data", {}):
                    parts.append("".join(out["data"][key]))
    return "\n".join(parts)


def test_getting_started_runs(small_study_path, tmp_path):
    nb = run("00_getting_started.ipynb", tmp_path, study=str(small_study_path), round=2024,
             n_boot=100)
    text = outputs_text(nb)
    assert "SYNTETISKA DATA" in text
    assert "alpha" in text and "cfi" in text
    assert not any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_committed_without_outputs(notebook):
    nb = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, notebook
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook} needs exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_organisation_report_hides_small_unit(small_study_path, small_data, tmp_path, lang):
    """The company's 3-respondent department appears nowhere in the report (values or name)."""
    truth = json.loads((small_data / "truth.json").read_text(encoding="utf-8"))
    company = truth["company"]
    nb = run("organisation_report.ipynb", tmp_path, study=str(small_study_path),
             org_id=company["org_id"], round=company["latest_round"], lang=lang, n_boot=100)
    text = outputs_text(nb)
    assert company["small_department"] not in text
    assert ("SYNTETISKA DATA" if lang == "sv" else "SYNTHETIC DATA") in text
    # the figures are there (embedded PNGs in the sections' HTML)
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    assert html.count('src="data:image/png;base64,') >= 3
