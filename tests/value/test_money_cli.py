"""``cxray clv roi``, ``at-risk``, ``what-if``, ``by-nps-group``: a table a person reads, the
JSON a script reads (equal to the library's), one red line for a mistake."""

from __future__ import annotations

import json

import pytest

from cxray.cli import main
from cxray.workspace import Workspace


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("money-cli") / "demo.duckdb"
    with Workspace.open(path) as ws:
        ws.load_demo(seed=4, customers=1500, months=8)
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_roi_json_equals_the_library(capsys, db):
    code, out, _ = run(capsys, "--db", db, "clv", "roi", "--format", "json")
    assert code == 0
    body = json.loads(out)
    with Workspace.open(db, read_only=True) as ws:
        want = json.loads(json.dumps(ws.value.money.roi().to_dict(), default=str))
    assert body == want
    assert body["what_if"]["share"] == 0.1 and len(body["sentences"]) >= 3


def test_tables_say_what_they_show(capsys, db):
    code, out, _ = run(capsys, "--db", db, "clv", "roi")
    assert code == 0 and "The money of CX" in out and "Moving 10% of detractors" in out
    assert "Assumptions" in out and "not the result of an experiment" in out
    code, out, _ = run(capsys, "--db", db, "clv", "at-risk", "--by", "region")
    assert code == 0 and "revenue at risk" in out and "cxray churn model" in out
    code, out, _ = run(capsys, "--db", db, "clv", "by-nps-group")
    assert code == 0 and "detractor" in out and "churn cost in all" in out


def test_what_if_scales_with_the_share(capsys, db):
    got = []
    for share in ("0.1", "0.25"):
        code, out, _ = run(capsys, "--db", db, "clv", "what-if", "--share", share,
                           "--format", "json")  # fmt: skip
        assert code == 0
        got.append(json.loads(out))
    assert got[1]["estimate"] == pytest.approx(2.5 * got[0]["estimate"])
    code, out, _ = run(capsys, "--db", db, "clv", "what-if", "--share", "0.2")
    assert code == 0 and out.startswith("Moving 20% of detractors")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("what-if", "--share", "1.5"), "share must be between 0 and 1"),
        (("what-if", "--source", "fans"), "source='fans': not an NPS group"),
        (("at-risk", "--by", "colour"), "unknown attribute by='colour'"),
    ],
)
def test_mistakes_are_one_line(capsys, db, args, says):
    code, _, err = run(capsys, "--db", db, "clv", *args)
    assert code == 1 and says in err and "Traceback" not in err
