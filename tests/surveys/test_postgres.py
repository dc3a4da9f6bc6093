"""Survey collection on PostgreSQL: the same answers, steps, repeats and invitations as on DuckDB.

Needs ``CXRAY_TEST_POSTGRES_URL`` (``.ci/run`` sets it); skipped without, except under CI.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from cxray.exceptions import AlreadySubmittedError
from cxray.surveys import Invitation
from cxray.workspace import Workspace
from tests.surveys.conftest import PULSE

URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")
if not URL and os.environ.get("CI"):
    pytest.fail("CXRAY_TEST_POSTGRES_URL is not set under CI", pytrace=False)
pytestmark = pytest.mark.skipif(not URL, reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)")


@pytest.fixture
def pg(tmp_path):
    import ibis

    con = ibis.connect(URL)
    con.raw_sql("DROP OWNED BY CURRENT_USER").close()
    con.raw_sql("CREATE SCHEMA IF NOT EXISTS public").close()
    con.disconnect()
    with Workspace.open(URL, tmp_path / "cxray.toml") as ws:
        ws.surveys.registry.save("pulse", PULSE)
        yield ws


def _rows(ws):
    t = ws.table("responses")
    cols = ["response_id", "customer_id", "nps", "comment", "topics", "completed", "channel"]
    return sorted(tuple(r.values()) for r in t.select(*cols).to_pyarrow().to_pylist())


def test_collection_on_postgres(pg):
    sv = pg.surveys
    p = sv.collector.collect(
        sv.prepare("pulse", {"nps": 3, "topics": ["price"]}, submission_id="a", complete=False)
    )
    assert (p.status, p.completed) == ("created", False)
    done = sv.collector.collect(sv.prepare("pulse", {"improve": "faster"}, submission_id="a"))
    assert (done.status, done.completed) == ("updated", True)
    again = sv.collector.collect(sv.prepare("pulse", {"improve": "faster"}, submission_id="a"))
    assert again.status == "unchanged"
    with pytest.raises(AlreadySubmittedError):
        sv.collector.collect(sv.prepare("pulse", {"nps": 9}, submission_id="a"))
    pg.store.backend.raw_sql(
        "INSERT INTO _cx_invitations (invitation_id, survey, customer_id, created_at, expires_at) "
        "VALUES ('i1', 'pulse', 'C1', now(), now() + interval '1 day')"
    )
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    token = sv.signer.sign(Invitation("i1", "pulse", "C1", soon))
    r = sv.collector.collect(sv.prepare("pulse", {"nps": 10}, token=token))
    assert r.response_id == "inv_i1"
    assert _rows(pg) == sorted(
        [
            (done.response_id, None, 3, "faster", "price", True, None),
            ("inv_i1", "C1", 10, None, None, True, "email"),
        ]
    )
    answered = pg.store.backend.table("_cx_invitations").to_pyarrow().to_pylist()
    assert answered[0]["response_id"] == "inv_i1" and answered[0]["responded_at"] is not None
    card = pg.scorecard(metrics=["nps", "completion:surveys"]).records()
    assert {c["metric"]: c["n"] for c in card} == {"nps": 2, "completion:surveys": 2}
