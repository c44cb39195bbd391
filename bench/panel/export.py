"""Writes the panel's CSV files once, from the copies that statsmodels and vega_datasets ship
(run with both installed: ``pip install statsmodels vega_datasets``). Values are not changed; only
the columns are renamed and, for El Nino, the year-by-month table is made long."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import statsmodels.api as sm
from vega_datasets import local_data

HERE = Path(__file__).parent


def main() -> None:
    sun = sm.datasets.sunspots.load_pandas().data
    pd.DataFrame({"year": sun["YEAR"].astype(int), "sunspots": sun["SUNACTIVITY"]}).to_csv(
        HERE / "sunspots.csv", index=False
    )
    nile = sm.datasets.nile.load_pandas().data
    pd.DataFrame({"year": nile["year"].astype(int), "volume": nile["volume"]}).to_csv(
        HERE / "nile.csv", index=False
    )
    nino = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
    months = [f"{int(y)}-{m:02d}" for y in nino.index for m in range(1, 13)]
    pd.DataFrame({"month": months, "sst": nino.to_numpy().ravel()}).to_csv(
        HERE / "elnino.csv", index=False
    )
    macro = sm.datasets.macrodata.load_pandas().data
    quarter = [f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(macro["year"], macro["quarter"])]
    for column in ("realgdp", "unemp"):
        pd.DataFrame({"quarter": quarter, column: macro[column]}).to_csv(
            HERE / f"macro_{column}.csv", index=False
        )
    weather = local_data.seattle_weather()
    pd.DataFrame(
        {"date": weather["date"].dt.strftime("%Y-%m-%d"), "temp_max": weather["temp_max"]}
    ).to_csv(HERE / "seattle_temp_max.csv", index=False)
    jobs = local_data.us_employment()
    pd.DataFrame(
        {"month": pd.to_datetime(jobs["month"]).dt.strftime("%Y-%m"), "nonfarm": jobs["nonfarm"]}
    ).to_csv(HERE / "us_nonfarm.csv", index=False)


if __name__ == "__main__":
    main()
