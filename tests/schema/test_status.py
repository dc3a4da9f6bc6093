"""The shapes of a store's status (``cxray.schema._status``), shared by the store and the
fast ``cxray status``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys

from cxray.schema import CONTRACT
from cxray.schema._status import ImportRecord, attribute_columns, import_record


def test_attribute_columns_are_the_stored_ones_beyond_the_contract_in_order():
    spec = CONTRACT["responses"]
    stored = ["response_id", "zone", "submitted_at", "_import_id", "nps", "Plan", "tier"]
    assert attribute_columns(spec, stored, ("_import_id",)) == ["zone", "Plan", "tier"]
    assert attribute_columns(spec, stored, ()) == ["zone", "_import_id", "Plan", "tier"]
    assert attribute_columns(spec, [c.name for c in spec.columns], ("_import_id",)) == []


def test_an_import_log_row_becomes_a_record_with_its_files_parsed():
    at = dt.datetime(2025, 1, 2, 3, 4, 5)
    files = [{"path": "r.csv", "rows": 2, "sha256": "ab" * 32}]
    row = {
        "import_id": 7,
        "table_name": "responses",
        "source": "csv",
        "files": json.dumps(files),
        "rows_in": 2,
        "added": 1,
        "updated": 1,
        "unchanged": 0,
        "started_at": at,
        "finished_at": at + dt.timedelta(seconds=3),
        "cxray_version": "0.1",
    }
    rec = import_record(row)
    assert isinstance(rec, ImportRecord) and rec.files == files
    assert dataclasses.asdict(rec) == {**row, "files": files}
    assert row["files"] == json.dumps(files)  # the row itself is left as it was


def test_the_store_and_the_fast_status_share_the_shapes_and_no_ibis_comes_with_them():
    from cxray.schema._status import TableStatus
    from cxray.store import ImportRecord as StoreRecord
    from cxray.store import TableStatus as StoreStatus

    assert StoreRecord is ImportRecord and StoreStatus is TableStatus
    probe = "import sys, cxray.schema._status; print('ibis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
