"""Write dimios_synthetic_2x3.csv: synthetic DiMiOS answers with a planted 2x3 structure.

Run once from this folder (``../../.venv/bin/python make_dimios_synthetic_2x3.py``); the CSV is
committed so that the numbers never depend on numpy's random streams. Two correlated dimension
factors (r = 0.5), three categories under each (loading 0.8), five items under each category
(loading 0.8), answers rounded onto 1..6, about 2 % "don't know" (empty).
"""

import numpy as np
import pandas as pd

from mognad.codebook import load_codebook


def main() -> None:
    """Write the CSV into the current folder."""
    rng = np.random.default_rng(20240501)
    cb = load_codebook()
    n = 600
    dims = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=n)
    columns = {}
    for d_i, dim in enumerate(cb.dimensions["dimension"]):
        for cat in cb.categories.loc[cb.categories["dimension"] == dim, "category"]:
            category = 0.8 * dims[:, d_i] + 0.6 * rng.normal(size=n)
            for item in cb.items.loc[cb.items["category"] == cat, "item_id"]:
                latent = 0.8 * category + 0.6 * rng.normal(size=n)
                columns[item] = np.clip(np.rint(3.5 + 1.2 * latent), 1, 6)
    wide = pd.DataFrame(columns)[cb.item_ids]
    wide = wide.mask(rng.random(wide.shape) < 0.02).astype("Int64")
    wide.insert(0, "respondent_id", [f"r{i:04d}" for i in range(n)])
    wide.to_csv("dimios_synthetic_2x3.csv", index=False)


if __name__ == "__main__":
    main()
