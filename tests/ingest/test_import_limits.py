"""[imports.limits]: files over a limit are refused before they are parsed, naming the file,
the place and the limit; nothing is written (library, CLI, PostgreSQL); NUL bytes in CSV."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxray.cli import main
from cxray.config._imports import ImportLimits
from cxray.exceptions import SourceError
from cxray.ingest._readers import check_limits
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres
from tests.conftest import snapshot

LIMITS = """
[imports.limits]
max_columns = 6
max_line_kb = 1
max_cells = 40
max_file_mb = 1
"""
HEAD = "response_id,submitted_at,nps,comment\n"


def rows(n: int, start: int = 0) -> str:
    return "".join(
        f"R{i},2025-01-{1 + i % 28:02d},{i % 11},fine\n" for i in range(start, start + n)
    )


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "cxray.toml").write_text(LIMITS)
    with Workspace.open(tmp_path / "s.duckdb", tmp_path / "cxray.toml") as w:
        w.import_files("responses", [_write(tmp_path / "first.csv", HEAD + rows(3))])
        yield w


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


CASES = {
    "columns": (
        "wide.csv",
        ",".join(f"c{i}" for i in range(7)) + "\n" + ",".join("1" * 7) + "\n",
        "wide.csv, line 1 (the header): 7 columns, over the limit of 6 "
        "([imports.limits] max_columns)",
    ),
    "line": (
        "long.csv",
        HEAD + rows(2) + "R9,2025-01-09,5," + "x" * 1100 + "\n" + rows(1, 20),
        "long.csv, line 4: longer than the limit of 1 KiB per line ([imports.limits] max_line_kb)",
    ),
    "cells": (
        "many.csv",
        HEAD + rows(11),
        "many.csv: over 11 rows × 4 columns, more than the limit of 40 cells "
        "([imports.limits] max_cells)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_file_over_a_limit_is_refused_and_nothing_is_written(ws, tmp_path, case):
    name, text, message = CASES[case]
    before = snapshot(ws)
    with pytest.raises(SourceError) as exc:
        ws.import_files("responses", [_write(tmp_path / name, text)])
    assert message in str(exc.value)
    assert snapshot(ws) == before


def test_just_under_every_limit_imports(ws, tmp_path):
    text = HEAD + rows(9, 10) + "R99,2025-01-09,5," + "x" * (1024 - 17) + "\n"
    assert len(text.splitlines()[-1].encode()) == 1024  # exactly the line limit
    report = ws.import_files("responses", [_write(tmp_path / "edge.csv", text)])
    assert report.result.added == 10  # 10 rows × 4 columns: exactly max_cells


def test_file_size_counts_the_text_of_a_gz_file(tmp_path):
    limits = ImportLimits(max_file_mb=1, max_cells=0, max_line_kb=0)
    big = (HEAD + rows(50_000)).encode()  # about 1.3 MiB of text, far less compressed
    assert len(big) > 2**20
    plain = _write(tmp_path / "big.csv", big)
    packed = _write(tmp_path / "big.csv.gz", gzip.compress(big))
    assert packed.stat().st_size < 2**20
    for path in (plain, packed):
        with pytest.raises(SourceError, match=r"over the limit of 1 MiB .*max_file_mb"):
            check_limits(path, limits, "csv")
    check_limits(packed, ImportLimits(max_file_mb=2, max_cells=0), "csv")  # under it: fine


def test_a_line_too_long_is_found_across_chunk_boundaries(tmp_path):
    limits = ImportLimits(max_line_kb=4, max_cells=0)
    line = "a" * 4096 + "\n"  # exactly at the limit, many times: every chunk edge is crossed
    ok = _write(tmp_path / "ok.csv", "x\n" + line * 600)
    check_limits(ok, limits, "csv")
    bad = _write(tmp_path / "bad.csv", "x\n" + line * 300 + "b" * 4097 + "\n" + line * 300)
    with pytest.raises(SourceError, match=r"bad.csv, line 302: longer than the limit of 4 KiB"):
        check_limits(bad, limits, "csv")


def test_json_lines_columns_and_lines(ws, tmp_path):
    before = snapshot(ws)
    wide = {"response_id": "J1", "submitted_at": "2025-01-01", **{f"q{i}": i for i in range(6)}}
    path = _write(tmp_path / "wide.jsonl", json.dumps(wide) + "\n")
    with pytest.raises(SourceError, match=r"wide.jsonl, line 1: 8 columns, over the limit of 6"):
        ws.import_files("responses", [path])
    long = {"response_id": "J2", "submitted_at": "2025-01-01", "comment": "y" * 2000}
    path = _write(tmp_path / "long.jsonl", json.dumps(long) + "\n")
    with pytest.raises(SourceError, match=r"long.jsonl, line 1: longer than the limit of 1 KiB"):
        ws.import_files("responses", [path])
    assert snapshot(ws) == before


def test_parquet_columns_from_the_footer_and_a_broken_file_named_as_given(ws, tmp_path):
    before = snapshot(ws)
    wide = pa.table({f"c{i}": [1] for i in range(7)})
    pq.write_table(wide, tmp_path / "wide.parquet")
    with pytest.raises(SourceError, match=r"^wide.parquet.*7 columns, over the limit of 6"):
        ws.import_files("responses", [tmp_path / "wide.parquet"])
    broken = _write(tmp_path / "broken.parquet", b"PAR1 not really parquet")
    with pytest.raises(SourceError) as exc:
        ws.import_files("responses", [broken])
    message = str(exc.value)
    assert message.startswith("broken.parquet: cannot be read as Parquet")
    assert str(tmp_path) not in message and "/" not in message
    assert snapshot(ws) == before


def test_nul_in_a_csv_cell_is_refused_with_line_and_column(ws, tmp_path):
    before = snapshot(ws)
    path = _write(tmp_path / "nul.csv", HEAD + rows(2) + "R7,2025-01-07,3,bad\x00text\n")
    with pytest.raises(SourceError) as exc:
        ws.import_files("responses", [path])
    assert "nul.csv, line 4, column 'comment': a NUL byte" in str(exc.value)
    assert snapshot(ws) == before


def test_limits_are_configurable_and_zero_turns_one_off(tmp_path):
    name, text, _ = CASES["columns"]  # 7 columns: over the 6 of LIMITS
    text = text.replace("c0,c1,c2", "response_id,submitted_at,nps").replace(
        "1,1,1", "A,2025-01-01,9"
    )
    path = _write(tmp_path / name, text)
    (tmp_path / "off.toml").write_text("[imports.limits]\nmax_columns = 0\n")
    with Workspace.open(tmp_path / "s.duckdb", tmp_path / "off.toml") as w:
        report = w.import_files("responses", [path])
        assert report.result.added == 1 and len(report.attributes) == 4
    header = ",".join(["response_id", "submitted_at", "nps"] + [f"q{i}" for i in range(2_100)])
    wide = _write(tmp_path / "w.csv", header + "\n" + ",".join(["1"] * 2_103) + "\n")
    default = pytest.raises(SourceError, match=r"2,103 columns, over the limit of 2,000")
    with Workspace.open(tmp_path / "d.duckdb", tmp_path / "none.toml") as w, default:
        w.import_files("responses", [wide])


def test_cli_prints_the_file_and_the_limit_and_exits_1(ws, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, text, message = CASES["columns"]
    path = _write(tmp_path / name, text)
    ws.close()
    with pytest.raises(SystemExit) as exc:
        main(["--db", "s.duckdb", "--config", "cxray.toml", "import", "responses", str(path)])
    out, err = capsys.readouterr()
    assert exc.value.code == 1
    assert message in " ".join((out + err).split())


@needs_postgres
def test_postgres_store_refuses_over_a_limit_and_imports_under_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "cxray.toml").write_text(LIMITS)
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as w:
        report = w.import_files("responses", [_write(tmp_path / "a.csv", HEAD + rows(5))])
        assert (report.result.added, report.result.updated) == (5, 0)
        before = snapshot(w)
        for name, text, message in CASES.values():
            with pytest.raises(SourceError) as exc:
                w.import_files("responses", [_write(tmp_path / name, text)])
            assert message in str(exc.value)
        assert snapshot(w) == before
        again = w.import_files("responses", [tmp_path / "a.csv"])
        assert again.result.unchanged == 5
