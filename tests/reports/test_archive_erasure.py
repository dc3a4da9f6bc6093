"""Archived digests and erasure: a digest that names a customer (the churn section's
customers most at risk, the customers of the alerts it lists) is made again without them
when they are erased; a digest that does not name them is left byte for byte; a digest can
be deleted (library, CLI, API for admins only, the Reports page)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from cxray.exceptions import NotFoundError
from cxray.reports import ARCHIVE
from cxray.workspace import Workspace


def pdf_text(content: bytes) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(io.BytesIO(content))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def kept(ws: Workspace) -> dict[str, dict]:
    """Every archived digest: id -> its row (content, customers)."""
    t = ws.store.backend.table(ARCHIVE)
    return {r["report_id"]: r for r in t.to_pyarrow().to_pylist()}


def readable(row: dict) -> str:
    content = bytes(row["content"])
    return pdf_text(content) if row["format"] == "pdf" else content.decode("utf-8")


@pytest.fixture(scope="module")
def churned(tmp_path_factory) -> Path:
    """A demo world large enough for a churn-risk model (its digest names customers)."""
    folder = tmp_path_factory.mktemp("digest-erasure")
    with Workspace.open(folder / "cx.duckdb", folder / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=1200, months=12, loop=True)
    return folder


def test_erasure_remakes_the_digests_that_name_the_customer(churned, tmp_path):
    shutil.copytree(churned, tmp_path / "w")
    with Workspace.open(tmp_path / "w" / "cx.duckdb", tmp_path / "w" / "cxray.toml") as ws:
        september = ws.reports.generate("2026-09", "html", pii=True)  # before the churn model
        ws.churn.risk.train(seed=0)
        october = ws.reports.generate("2026-10", "pdf", pii=True)
        rows = kept(ws)
        named_sep = set(json.loads(rows[september.report_id]["customers"]))
        named_oct = set(json.loads(rows[october.report_id]["customers"]))
        text = pdf_text(october.content)
        # the churn section prints its customers most at risk; the archive recorded them
        shown = sorted(c for c in named_oct if c in text)
        assert len(shown) == 5
        cid = next(c for c in shown if c not in named_sep)
        t = ws.table("responses")
        comments = [
            c
            for c in t.filter((t.customer_id == cid) & t.comment.notnull())
            .comment.to_pyarrow()
            .to_pylist()
            if len(c) > 12
        ]

        report = ws.privacy.erase(cid, reason="test")

        assert report.digests == (october.report_id,)
        assert (report.digests_rewritten, report.digests_removed) == (1, 0)
        assert report.counts["_cx_reports_archive"] == 1
        assert report.to_dict()["digests_rewritten"] == 1
        after = kept(ws)
        assert set(after) == {september.report_id, october.report_id}
        for row in after.values():
            shown = readable(row)
            assert cid not in shown and cid.encode() not in bytes(row["content"])
            assert cid not in (row["customers"] or "")
            for c in comments:
                assert c not in shown
        # the digest not naming them is untouched; the one naming them made again, same id
        assert bytes(after[september.report_id]["content"]) == september.content
        again = ws.reports.get(october.report_id)
        assert again.format == "pdf" and again.period == "2026-10" and again.pii
        assert again.content.startswith(b"%PDF") and again.size == len(again.content) > 1000
        assert "Churn risk" in pdf_text(again.content)


def test_a_digest_kept_before_the_archive_named_customers_is_remade(demo_copy):
    with Workspace.open(demo_copy(), None) as ws:
        r = ws.reports.generate("2026-10", "md")
        ws.store.backend.con.execute(f'ALTER TABLE "{ARCHIVE}" DROP COLUMN customers')
        t = ws.table("responses")
        cid = t.filter(t.customer_id.notnull()).customer_id.to_pyarrow().to_pylist()[0]
        dry = ws.privacy.erase(cid, dry_run=True)
        assert dry.counts["_cx_reports_archive"] == 1 and dry.digests_rewritten == 0
        assert bytes(kept(ws)[r.report_id]["content"]) == r.content  # a dry run wrote nothing
        report = ws.privacy.erase(cid)
        assert (report.digests, report.digests_rewritten) == ((r.report_id,), 1)
        row = kept(ws)[r.report_id]
        assert row["customers"] is not None and cid not in bytes(row["content"]).decode()
        # a new digest records whom it names in the column the erasure added back
        assert ws.reports.generate("2026-10", "md").report_id in kept(ws)


def test_delete_one_digest(demo_copy):
    with Workspace.open(demo_copy(), None) as ws:
        a = ws.reports.generate("2026-10", "md")
        b = ws.reports.generate("2026-09", "md")
        gone = ws.reports.delete(a.report_id)
        assert gone.report_id == a.report_id and gone.period == "2026-10"
        assert [r.report_id for r in ws.reports.list()] == [b.report_id]
        with pytest.raises(NotFoundError, match="no report"):
            ws.reports.delete(a.report_id)
