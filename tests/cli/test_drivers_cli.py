"""``cxray drivers``: the table a person reads, the JSON a script reads, one line for mistakes."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cxray.cli import main
from cxray.workspace import Workspace


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("drivers-cli") / "demo.duckdb"
    with Workspace.open(path) as ws:
        ws.load_demo(seed=3, customers=800, months=6)
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_json_records(capsys, db):
    code, out, _ = run(capsys, "--db", db, "drivers", "--outcome", "csat", "--format", "json",
                       "--bootstrap", "50")  # fmt: skip
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list) and records
    for r in records:
        assert {"driver", "raw_weight", "share", "ci_low", "ci_high", "direction",
                "performance", "n", "method"} <= set(r)  # fmt: skip
    assert sum(r["share"] for r in records) == pytest.approx(100.0)
    assert records[0]["share"] >= records[-1]["share"]


def test_table_names_the_drivers_and_the_method(capsys, db):
    code, out, _ = run(capsys, "--db", db, "drivers", "--bootstrap", "50")
    assert code == 0
    assert "key drivers of NPS answer (0-10)" in out and "Orders" in out
    assert "too rare" in out  # a driver few rows have is skipped, with the reason
    assert "Johnson's relative weights" in out


def test_csv_and_slices(capsys, db):
    code, out, _ = run(capsys, "--db", db, "drivers", "--outcome", "nps", "--driver",
                       "late_deliveries", "--driver", "orders", "--by", "segment",
                       "--bootstrap", "0", "--format", "csv")  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["driver"] for r in rows} == {"late_deliveries", "orders"}
    assert len({r["segment"] for r in rows}) >= 2


def test_moments(capsys, db):
    code, out, _ = run(capsys, "--db", db, "drivers", "--moments", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert {"moment", "outcome", "effect", "ci_low", "ci_high", "q_value", "impact"} <= set(
        records[0]
    )
    code, out, _ = run(capsys, "--db", db, "drivers", "--moments", "--outcome", "nps")
    assert code == 0 and "moments of truth, most costly first on nps" in out


def test_list_features(capsys, db):
    code, out, _ = run(capsys, "--db", db, "drivers", "--list", "--format", "json")
    assert code == 0
    assert "late_deliveries" in {f["name"] for f in json.loads(out)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "loyalty"], "unknown outcome 'loyalty'"),
        (["--driver", "speed"], "unknown driver(s) 'speed'"),
        (["--outcome", "nps", "--outcome", "csat"], "name one --outcome"),
        (["--moments", "--by", "region"], "--driver and --by do not apply"),
        (["--by", "planet", "--driver", "orders"], "unknown attribute 'planet'"),
        (["--from", "2031-01-01"], "no responses with a value of 'nps'"),
    ],
)
def test_mistakes_get_one_line(capsys, db, args, message):
    code, _out, err = run(capsys, "--db", db, "drivers", *args)
    assert code == 1
    assert message in err and "Traceback" not in err
