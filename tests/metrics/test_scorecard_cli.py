"""``cxray scorecard`` prints what a person can read; ``--format csv|json`` keep every row.

By period the table is a matrix (KPI and slice × the latest periods), then the significant
changes (after Benjamini–Hochberg, latest first, ``--limit``), then the KPIs not measured.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from cxray.cli import main
from cxray.workspace import Workspace


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().out


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sccli") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(seed=3, customers=600, months=6)
    return str(path)


def test_by_region_and_month_is_a_matrix_with_the_changes_that_matter(db, capsys):
    args = ("--db", db, "scorecard", "--by", "region", "--period", "month")
    code, out = _cli(capsys, *args, "--format", "json")
    assert code == 0, out
    records = json.loads(out)
    code, out = _cli(capsys, *args, "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == len(records)
    code, table = _cli(capsys, *args)
    assert code == 0, table
    periods = sorted({r["period"] for r in records if r["period"]})
    rows = {(r["metric"], r["region"]) for r in records}
    lines = table.splitlines()
    # one line per KPI and region (plus titles and the changes), not one per period
    assert len(lines) < len(records) / 2
    head = next(line for line in lines if line.startswith("metric"))
    shown = re.findall(r"\d{4}-\d{2}", head)
    assert shown and shown == periods[-len(shown) :]
    # a KPI's latest value for one region as printed is the JSON's
    latest = [
        r
        for r in records
        if r["period"] == shown[-1] and r["estimate"] is not None and len(r["title"]) <= 22
    ]
    rec = sorted(latest, key=lambda r: (r["metric"], str(r["region"])))[0]
    region = rec["region"] or "(missing)"
    line = next(x for x in lines if x.startswith(rec["title"] + " ") and f" {region} " in x)
    assert line.split()[-2].rstrip("*") == f"{rec['estimate']:,.1f}"
    significant = [r for r in records if r["significant"]]
    assert f"of {len(significant)};" in table or not significant
    assert len(rows) >= 10
    code, two = _cli(capsys, *args, "--limit", "2")
    assert code == 0
    if len(significant) >= 2:
        assert "(2 of" in two
        listed = [x for x in two.splitlines() if re.match(r"  \d{4}-\d{2} ", x)]
        assert len(listed) == 2
        assert listed[0][2:9] == max(r["period"] for r in significant)


def test_cases_without_contacts_list_fcr_as_not_measured(tmp_path, capsys):
    db = tmp_path / "cx.duckdb"
    src = tmp_path / "cases.csv"
    lines = ["case_id,opened_at,resolved_at"]
    lines += [f"k{i},2024-03-01T08:00,2024-03-01T{9 + i % 9:02d}:00" for i in range(40)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        ws.import_files("cases", [src])
    code, out = _cli(capsys, "--db", str(db), "scorecard")
    assert code == 0, out
    assert "Time to resolution (mean)" in out
    assert "not measured" in out and "no contacts or reopened data in cases" in out
    assert "100.0" not in out
    code, out = _cli(capsys, "--db", str(db), "scorecard", "--period", "month")
    assert code == 0 and "2024-03" in out and "no contacts or reopened" in out
