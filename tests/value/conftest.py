"""Worlds for the lifetime-value tests: CDNOW (Hardie's 1/10 sample, from the master file)."""

from __future__ import annotations

import pandas as pd
import pytest

from cxray.workspace import Workspace
from tests.conftest import SHARED

CDNOW = SHARED / "data" / "cdnow"
#: the calibration end of Fader, Hardie & Lee (2005): 39 weeks from 1997-01-01
CALIBRATION_END = "1997-09-30"


def cdnow_orders() -> pd.DataFrame:
    """The master file's rows of the 2,357 sample customers as orders: one order per row
    (customer + row number), the sample's customer id (1..2357, as in Hardie's summaries)."""
    master = pd.read_csv(
        CDNOW / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str}
    )
    sample = pd.read_csv(
        CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype={0: str, 2: str},
        names=["master_id", "id", "date", "cds", "amount"],
    )  # fmt: skip
    ids = dict(zip(sample.master_id, sample.id.astype(str), strict=False))
    rows = master[master.customer_id.isin(ids)].reset_index(drop=True)
    return pd.DataFrame(
        {
            "order_id": rows.customer_id + "-" + rows.index.astype(str),
            "customer_id": rows.customer_id.map(ids),
            "ordered_at": pd.to_datetime(rows.date, format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": rows.dollar_value,
        }
    )


def published(name: str) -> pd.DataFrame:
    frame = pd.read_csv(CDNOW / name)
    frame["ID"] = frame["ID"].astype(str)
    return frame.set_index("ID").sort_index()


@pytest.fixture(scope="package")
def cdnow(tmp_path_factory):
    """A store with CDNOW's sample customers' orders (6,919 rows)."""
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.import_frame("orders", cdnow_orders())
        yield ws
