"""Codebook loading and validation: each broken key gives a clear error naming it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from mognad.codebook import load_codebook, resolve_codebook_path
from mognad.errors import CodebookError


@pytest.fixture()
def raw():
    return yaml.safe_load(resolve_codebook_path(None).read_text(encoding="utf-8"))


def write(tmp_path, data, name="cb.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_default_codebook_structure():
    cb = load_codebook()
    assert cb.id == "mognad-default-1"
    assert cb.item_ids == [f"q{i:02d}" for i in range(1, 31)]
    expected = {
        "effektivitet": range(1, 6), "innovation": range(6, 11), "balansering": range(11, 16),
        "infrastruktur": range(16, 21), "information": range(21, 26), "forvaltning": range(26, 31),
    }
    for category, numbers in expected.items():
        got = cb.items.loc[cb.items.category == category, "item_id"].tolist()
        assert got == [f"q{i:02d}" for i in numbers]
    assert cb.dimensions["dimension"].tolist() == ["formaga", "arv"]
    assert (cb.scale_min, cb.scale_max, cb.rescaling) == (1, 6, "pomp")
    assert all(t.recommendations["sv"] and t.recommendations["en"] for t in cb.types.values())
    assert cb.items[["text_sv", "text_en"]].map(len).min().min() > 10


def test_rescaling_rules(tmp_path, raw):
    cb = load_codebook()
    # pomp on a 1-6 scale: (mean - 1) / 5 * 100, worked by hand: (4.2 - 1) / 5 * 100 = 64
    assert cb.rescale(4.2) == pytest.approx(64.0)
    raw["rescaling"] = "ratio"
    ratio = load_codebook(write(tmp_path, raw))
    # ratio: mean / 6 * 100 = 4.2 / 6 * 100 = 70
    assert ratio.rescale(4.2) == pytest.approx(70.0)
    assert np.isnan(cb.rescale(np.nan))


def test_quadrants_default_cut_is_high():
    cb = load_codebook()
    assert cb.classify(50.0, 50.0) == "D"
    assert cb.classify(49.99, 50.0) == "C"
    assert cb.classify(np.nan, 50.0) is None


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda r: r["dimensions"][0]["categories"][1]["items"].append(
            copy.deepcopy(r["dimensions"][0]["categories"][0]["items"][0])),
         "items.q01': duplicate item id 'q01'"),
        (lambda r: r.__setitem__("items", [{"id": "q31", "category": "okand"}]),
         "items[0].category': item 'q31' is in unknown category 'okand'"),
        (lambda r: r["dimensions"][1]["categories"][0].__setitem__("weight", 0.5),
         "dimensions.arv.categories[*].weight': weights must sum to 1"),
        (lambda r: r["dimensions"][0].__setitem__("weight", 0.7),
         "dimensions[*].weight': weights must sum to 1"),
        (lambda r: r.__setitem__("rescaling", "zscore"),
         "'rescaling': unknown rule 'zscore'"),
        (lambda r: r["dimensions"][0]["categories"][0]["items"][2].__setitem__(
            "text", {"sv": "bara svenska"}),
         "effektivitet.items.q03.text' needs texts for both 'sv' and 'en'"),
        (lambda r: r["quadrants"].__setitem__("x", "okand"),
         "'quadrants.x': 'okand' is not a dimension"),
        (lambda r: r["quadrants"]["types"]["B"].__setitem__("x", "low"),
         "quadrants.types.B': corner ('low', 'low') already has a type"),
        (lambda r: r["scale"].__setitem__("max", 1),
         "'scale': 'min' must be below 'max'"),
        (lambda r: r["dont_know"].__setitem__("codes", [3]),
         "'dont_know.codes': [3] lie on the answer scale"),
        (lambda r: r.pop("dimensions"), "missing required key 'dimensions'"),
    ],
)
def test_invalid_codebooks_name_the_key(tmp_path, raw, mutate, fragment):
    mutate(raw)
    with pytest.raises(CodebookError) as info:
        load_codebook(write(tmp_path, raw))
    assert fragment in str(info.value)
    assert "cb.yaml" in str(info.value)


def test_flat_item_list_and_item_weights(tmp_path, raw):
    """Another instrument, swapped in by pointing at another YAML: no code changes."""
    cat = raw["dimensions"][0]["categories"][0]
    moved = cat.pop("items")
    for item in moved:
        item["category"] = "effektivitet"
        item["weight"] = 0.2
    raw["items"] = moved
    raw["id"] = "annat-instrument-1"
    cb = load_codebook(write(tmp_path, raw))
    assert cb.id == "annat-instrument-1"
    assert set(cb.items.loc[cb.items.category == "effektivitet", "item_id"]) == {
        "q01", "q02", "q03", "q04", "q05"}


def test_unknown_codebook_and_bad_yaml(tmp_path):
    with pytest.raises(CodebookError, match="unknown codebook 'nope'"):
        load_codebook("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(CodebookError, match="not valid YAML"):
        load_codebook(bad)


def test_dont_know_detection():
    import pandas as pd

    cb = load_codebook()
    s = pd.Series(["vet ej", "Vet ej", "VET EJ", "-", "", None, "9", "4"], dtype="str")
    assert cb.is_dont_know(s).tolist() == [True] * 7 + [False]
