"""Uploads: the same validation and all-or-nothing as the CLI; size limit; store unchanged."""

from __future__ import annotations

from tests.api.conftest import assert_envelope
from tests.conftest import snapshot

GOOD = "response_id,submitted_at,nps,region\nA,2025-01-01,9,north\nB,2025-01-02,2,south\n"
BAD = "response_id,submitted_at,nps\nC,2025-01-03,7\nD,2025-01-04,12\nE,yesterday,5\n"


def upload(api, *files, role="analyst", table="responses", **data):
    return api.post(
        f"/api/imports/{table}",
        role=role,
        files=[("files", (name, text, "text/csv")) for name, text in files],
        data=data,
    )


def test_good_upload_then_idempotent_reupload(api):
    r = upload(api, ("r.csv", GOOD))
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["table"], report["added"], report["updated"], report["unchanged"]) == (
        "responses",
        2,
        0,
        0,
    )
    assert report["files"][0]["name"] == "r.csv" and report["import_id"] == 1
    assert report["new_attributes"] == ["region"]
    again = upload(api, ("r.csv", GOOD)).json()
    assert (again["added"], again["unchanged"], again["import_id"]) == (0, 2, 2)


def test_dry_run_writes_nothing(api):
    before = snapshot(api.ws)
    r = upload(api, ("r.csv", GOOD), dry_run="true")
    assert r.status_code == 200 and r.json()["dry_run"] and r.json()["added"] == 2
    assert snapshot(api.ws) == before


def test_bad_upload_is_422_with_cells_and_the_store_unchanged(api):
    upload(api, ("r.csv", GOOD))
    before = snapshot(api.ws)
    r = upload(api, ("good.csv", GOOD.replace("A,", "Z,")), ("bad.csv", BAD))
    err = assert_envelope(r, 422, "import_validation")
    details = {(d["column"], d["row"]): d for d in err["details"]}
    assert details[("nps", 3)] == {
        "file": "bad.csv",
        "row": 3,
        "column": "nps",
        "value": "12",
        "rule": "out of range: must be an integer from 0 to 10",
        "count": 1,
    }
    assert details[("submitted_at", 4)]["value"] == "yesterday"
    assert "nothing was written" in err["message"]
    assert snapshot(api.ws) == before


def test_map_and_source_fields(api):
    text = "id,when,Q1\nA,2025-01-01,9\n"
    r = upload(api, ("q.csv", text), map=["response_id=id", "submitted_at=when", "nps=Q1"])
    assert r.status_code == 201, r.text
    err = assert_envelope(upload(api, ("q.csv", text), map=["nps"]), 422, "source_error")
    assert "expected TARGET=EXPRESSION" in err["message"]
    err = assert_envelope(upload(api, ("q.csv", text), source="excel"), 422, "source_error")
    assert "--source 'excel' is neither a named source" in err["message"]


def test_unknown_table_and_missing_files(api):
    assert_envelope(upload(api, ("r.csv", GOOD), table="surveys"), 404, "unknown_table")
    r = api.post("/api/imports/responses", data={"dry_run": "true"})
    err = assert_envelope(r, 422, "invalid_request")
    assert err["details"][0]["field"] == "files"


def test_file_names_stay_inside_the_upload_folder(api):
    r = upload(api, ("../../etc/r.csv", GOOD))
    assert r.status_code == 201 and r.json()["files"][0]["name"] == "r.csv"


def test_oversized_body_is_413_and_nothing_written(make_api):
    api = make_api(max_upload_mb=0.01)  # 10 KiB
    before = snapshot(api.ws)
    big = "response_id,submitted_at,nps\n" + "".join(f"R{i},2025-01-01,9\n" for i in range(2000))
    err = assert_envelope(upload(api, ("big.csv", big)), 413, "payload_too_large")
    assert "MiB" in err["message"]
    assert snapshot(api.ws) == before
    # a body sent without a length (chunked) is counted as it arrives
    body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="x.csv"\r\n\r\n'
    body += big.encode() + b"\r\n--b--\r\n"

    def chunks():
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    r = api.client.post(
        "/api/imports/responses",
        content=chunks(),
        headers={**api.auth("analyst"), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert_envelope(r, 413, "payload_too_large")
    assert snapshot(api.ws) == before
    assert upload(api, ("small.csv", GOOD)).status_code == 201
