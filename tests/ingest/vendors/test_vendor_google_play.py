"""Google Play console review reports (CSV, UTF-16 as downloaded) into mentions.

The fixture has the columns of the monthly review report (*Download reports → Reviews*,
https://support.google.com/googleplay/android-developer/answer/6135870): ``Package Name``,
``App Version Code``, ``App Version Name``, ``Reviewer Language``, ``Device``,
``Review Submit Date and Time``, ``Review Submit Millis Since Epoch``, ``Star Rating``,
``Review Title``, ``Review Text``, the developer reply columns and ``Review Link``.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

REPORT = "google_play_reviews.csv"


def _lines(fixture_path):
    return fixture_path(REPORT).read_text(encoding="utf-16").splitlines()


def _write(tmp_path, lines, name="bad.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-16")
    return path


def test_reviews_map_onto_mentions(fixture_path, rows_by):
    batch = read_batch("mentions", [fixture_path(REPORT)])
    assert batch.files[0].source == "google_play"
    # a star rating without text is not a mention: left out, and said so
    assert (batch.files[0].skipped, batch.num_rows) == (1, 2)
    rows = rows_by(batch, "mention_id")
    assert list(rows) == ["gp:AOqpTOH1aX2kettle", "gp:AOqpTOH2bY3toast"]  # from Review Link
    tracking = rows["gp:AOqpTOH1aX2kettle"]
    assert tracking["posted_at"] == datetime(2025, 3, 3, 9, 12, 44)  # 1740993164000 ms
    assert (tracking["rating"], tracking["platform"]) == (2.0, "google_play")
    assert tracking["text"].startswith("Order tracking shows nothing")
    assert (tracking["app_version"], tracking["language"], tracking["device"]) == (
        "4.12.0",
        "en",
        "oriole",
    )
    assert tracking["developer_reply_text"].startswith("Sorry to hear that")
    assert tracking["url"].startswith("http://play.google.com/console/")
    german = rows["gp:AOqpTOH2bY3toast"]
    assert (german["title"], german["language"], german["rating"]) == ("Super", "de", 5.0)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (9, "five", "bad.csv, row 2, column 'rating': value 'five'"),
        (
            6,
            "yesterday",
            "bad.csv, row 2, column 'Review Submit Millis Since Epoch': value 'yesterday'",
        ),
    ],
    ids=["wrong rating", "wrong time"],
)
def test_bad_reports_write_nothing(fixture_path, tmp_path, column, value, expected):
    import csv
    import io

    rows = list(csv.reader(io.StringIO("\n".join(_lines(fixture_path)))))
    rows[1][column] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path = tmp_path / "bad.csv"
    path.write_text(buf.getvalue(), encoding="utf-16")
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("mentions", [path])
        assert expected in str(exc.value)
        assert ws.status().imports == []


def test_duplicate_review_with_other_values_is_refused(fixture_path, tmp_path):
    lines = _lines(fixture_path)
    lines.append(lines[1].replace(',2,,"Order tracking', ',1,,"Order tracking'))
    with pytest.raises(ImportValidationError, match="duplicate key: row 2"):
        read_batch("mentions", [_write(tmp_path, lines)], source="google_play")


def test_only_ratings_is_a_clear_error(fixture_path, tmp_path):
    lines = _lines(fixture_path)
    path = _write(tmp_path, [lines[0], lines[3]], "ratings.csv")
    with pytest.raises(SourceError, match=r"ratings\.csv: no reviews with text to import"):
        read_batch("mentions", [path], source="google_play")


def test_import_is_idempotent(fixture_path, tmp_path):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("mentions", [fixture_path(REPORT)]).result
        again = ws.import_files("mentions", [fixture_path(REPORT)]).result
        assert (first.added, again.added, again.updated, again.unchanged) == (2, 0, 0, 2)
        assert ws.table("mentions").count().execute() == 2
