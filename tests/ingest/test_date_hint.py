"""Dates that are not ISO 8601: the import refuses them and says how to read them.

The error names what the values look like and the ``--map`` that reads them; that very
option, typed as shown, imports the file with the dates meant (round trip through the
CLI). Month/day order that the values cannot tell is never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex

import pytest

from cxray.cli import main
from cxray.exceptions import ImportValidationError
from cxray.ingest._dates import guess_date_format
from cxray.workspace import Workspace
from tests.conftest import SHARED

BA = SHARED / "data" / "sentiment_train" / "british_airways_reviews" / "BA_AirlineReviews.csv"


@pytest.mark.parametrize(
    ("values", "want"),
    [
        (["19th November 2023", "1st March 2022", "22nd May 2021"], (["%d %B %Y"], True)),
        (["11/19/2023 14:05", "03/04/2023 09:00"], (["%m/%d/%Y %H:%M"], False)),
        (["19/11/2023", "03/04/2023"], (["%d/%m/%Y"], False)),
        (["03/04/2023", "05/06/2023"], (["%m/%d/%Y", "%d/%m/%Y"], False)),
        (["Nov 19, 2023", "Mar 4, 2022"], (["%b %d, %Y"], False)),
        (["19.11.2023 14:05", "01.02.2024 00:00"], (["%d.%m.%Y %H:%M"], False)),
        (["11/19/2023 2:05 PM", "11/20/2023 11:59 AM"], (["%m/%d/%Y %I:%M %p"], False)),
        (["1700000000", "1699999999"], (["epoch"], False)),
        (["1700000000123"], (["epoch_ms"], False)),
        (["yesterday", "19/11/2023"], None),
        (["2023-11-19", "19/11/2023"], None),
        ([], None),
    ],
)
def test_formats_are_told_by_every_value(values, want):
    assert guess_date_format(values) == want


def _cli(capsys, *args: str) -> tuple[int, str]:
    """Run the command as a user does (its exit status, what it printed)."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out + out.err


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        (["19th November 2023", "2nd March 2024"], ["2023-11-19 00:00", "2024-03-02 00:00"]),
        (["11/19/2023 2:05 PM", "12/01/2023 9:30 AM"], ["2023-11-19 14:05", "2023-12-01 09:30"]),
        (["19.11.2023 14:05", "01.12.2023 09:30"], ["2023-11-19 14:05", "2023-12-01 09:30"]),
        (["1700400000", "1701423000"], ["2023-11-19 13:20", "2023-12-01 09:30"]),
    ],
)
def test_the_suggested_map_imports_the_dates_meant(tmp_path, monkeypatch, capsys, written, meant):
    monkeypatch.chdir(tmp_path)
    assert _cli(capsys, "init")[0] == 0
    rows = [f"R{i},C{i},{w},9" for i, w in enumerate(written)]
    (tmp_path / "r.csv").write_text(
        "response_id,customer_id,When answered,nps\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    code, out = _cli(capsys, "import", "responses", "r.csv", "--map", "submitted_at=When answered")
    assert code != 0 and "not an ISO 8601 timestamp" in out and "nothing was written" in out
    option = re.search(r'--map "(?:[^"\\]|\\.)*"', out)
    assert option, out
    flag, value = shlex.split(option.group(0))  # as a shell would pass it
    code, out = _cli(capsys, "import", "responses", "r.csv", flag, value)
    assert code == 0, out
    with Workspace.open(tmp_path / "cxray.duckdb", read_only=True) as ws:
        got = ws.table("responses").order_by("response_id").to_pyarrow().to_pylist()
    assert [r["submitted_at"].strftime("%Y-%m-%d %H:%M") for r in got] == meant


def test_month_and_day_that_cannot_be_told_apart_name_both_readings(ws, write):
    f = write("r.csv", "response_id,customer_id,submitted_at,nps\nR1,C1,03/04/2023,9\n")
    with pytest.raises(ImportValidationError) as err:
        ws.import_files("responses", [f])
    rule = err.value.errors[0].first.rule
    assert "(month first) or '%d/%m/%Y' (day first)" in rule
    assert "strptime(submitted_at, '%m/%d/%Y')" in rule
    assert "strptime(submitted_at, '%d/%m/%Y')" in rule
    assert ws.store.backend.table("responses").count().to_pyarrow().as_py() == 0


def test_values_of_no_known_format_keep_the_plain_message(ws, write):
    f = write("r.csv", "response_id,customer_id,submitted_at,nps\nR1,C1,yesterday,9\n")
    with pytest.raises(ImportValidationError) as err:
        ws.import_files("responses", [f])
    rule = err.value.errors[0].first.rule
    assert rule == "not an ISO 8601 timestamp (e.g. 2025-03-01T14:05:00+02:00)"


def test_a_real_export_with_ordinal_dates(ws):
    """British Airways reviews write "19th November 2023"; the hint reads all 3,701."""
    with pytest.raises(ImportValidationError) as err:
        ws.import_files(
            "mentions",
            [BA],
            mapping={"mention_id": "ReviewID", "posted_at": "Datetime", "text": "ReviewBody"},
        )
    rule = err.value.errors[0].first.rule
    assert "dates written '%d %B %Y' with ordinals" in rule
    expr = re.search(r'posted_at=(sql:.*?)"', rule).group(1).replace("\\\\", "\\")
    report = ws.import_files(
        "mentions",
        [BA],
        mapping={"mention_id": "ReviewID", "posted_at": expr, "text": "ReviewBody"},
    )
    assert report.result.added == 3701
    t = ws.table("mentions")
    first = t.posted_at.min().to_pyarrow().as_py()
    assert dt.datetime(2010, 1, 1) < first < dt.datetime(2024, 1, 1)
