"""The digest's figures are the scorecard's; its q-values are BH's; each format carries every
section; the PDF renders to PNG pages that are not blank; personal data masked unless pii."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator

import numpy as np
import pytest
from scipy import stats as sps

from cxray.privacy import Masking
from cxray.reports import build_digest, render, resolve_period
from cxray.reports._digest import kpi_section, loop_section
from cxray.workspace import Workspace

from .conftest import AS_OF

TODAY = dt.date.fromisoformat(AS_OF)
SECTIONS = ("kpis", "drivers", "themes", "emerging", "loop", "churn", "value")


@pytest.fixture(scope="module")
def ws(demo_file) -> Iterator[Workspace]:
    with Workspace.open(demo_file, demo_file.parent / "cxray.toml", read_only=True) as w:
        yield w


@pytest.fixture(scope="module")
def month(ws):
    return build_digest(ws, resolve_period("last-month", TODAY))


def _bh(p: list[float]) -> list[float]:
    """Benjamini-Hochberg q-values by hand: q_(i) = min_{j>=i} m p_(j) / j."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, m * p[i] / rank)
        q[i] = running
    return q


def test_kpi_figures_are_the_scorecards_for_the_same_period(ws, month):
    assert month.period.label == "2026-10"
    rows = {r["metric"]: r for r in month.section("kpis").data["rows"]}
    by_month = {
        r["metric"]: r
        for r in ws.scorecard(period="month", start="2026-09-01", end="2026-10-31").records()
        if r["period"] == "2026-10"
    }
    assert "nps" in rows and rows["nps"]["estimate"] is not None
    measured = [m for m, r in rows.items() if r["estimate"] is not None]
    assert len(measured) >= 8
    for m in measured:
        r = rows[m]
        assert r["estimate"] == pytest.approx(by_month[m]["estimate"], rel=1e-12)
        assert r["n"] == by_month[m]["n"]
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(
            (by_month[m]["ci_low"], by_month[m]["ci_high"]), rel=1e-12
        )
        if by_month[m]["p_value"] is not None:
            assert r["change"] == pytest.approx(by_month[m]["change"], rel=1e-12)
            assert r["p_value"] == pytest.approx(by_month[m]["p_value"], rel=1e-12)
        assert r["status"] == by_month[m]["status"]
    # NPS's target comes from the config's defaults
    assert rows["nps"]["target"] == ws.config.threshold("nps").target


def test_q_values_are_benjamini_hochberg_across_the_digests_kpis(month):
    d = month.section("kpis").data
    tested = [r for r in d["rows"] if r["p_value"] is not None]
    assert len(tested) >= 5
    expected = _bh([r["p_value"] for r in tested])
    assert [r["q_value"] for r in tested] == pytest.approx(expected, rel=1e-12)
    assert all(r["significant"] == (r["q_value"] <= d["fdr"]) for r in tested)
    assert d["significant"] == [r["metric"] for r in d["rows"] if r["significant"]]


def test_a_free_range_change_comes_from_the_two_windows_intervals(ws):
    p = resolve_period("2026-10-01..2026-10-31", TODAY)
    d = kpi_section(ws, p)
    prev = {r["metric"]: r for r in ws.scorecard(start=p.previous_start, end=p.previous_end)
            .records()}  # fmt: skip
    r = next(r for r in d["rows"] if r["metric"] == "csat")
    b = prev["csat"]
    z = sps.norm.ppf(0.975)
    se = math.sqrt(((r["ci_high"] - r["ci_low"]) / (2 * z)) ** 2
                   + ((b["ci_high"] - b["ci_low"]) / (2 * z)) ** 2)  # fmt: skip
    assert r["previous"] == pytest.approx(b["estimate"])
    assert r["change"] == pytest.approx(r["estimate"] - b["estimate"], rel=1e-12)
    assert r["p_value"] == pytest.approx(2 * sps.norm.sf(abs(r["change"]) / se), rel=1e-9)
    assert r["change_ci_high"] - r["change_ci_low"] == pytest.approx(2 * z * se, rel=1e-9)
    assert d["method"].startswith("the scorecards of the range")


def test_sections_present_or_saying_why_not(month):
    assert [s.key for s in month.sections] == list(SECTIONS)
    on = {s.key for s in month.sections if s.available}
    assert {"kpis", "drivers", "themes", "loop"} <= on
    assert "no churn-risk model" in month.section("churn").note
    assert "no lifetime-value fit" in month.section("value").note
    loop = month.section("loop").data
    assert loop["alerts"] == sum(r["alerts"] for r in loop["by_rule"]) > 0
    drivers = month.section("drivers").data["rows"]
    assert 0 < len(drivers) <= 5 and all(0 <= r["share"] <= 100 for r in drivers)


def test_an_empty_store_gives_a_digest_of_notes(tmp_path):
    with Workspace.open(tmp_path / "empty.duckdb", tmp_path / "cxray.toml") as ws:
        d = build_digest(ws, resolve_period("last-week", TODAY))
        assert not any(s.available for s in d.sections)
        assert all(s.note for s in d.sections)
        md = render(d, "md").decode()
        assert "no KPI could be measured in 2026-W44" in md
        pdf = render(d, "pdf")
    pages = _pages(pdf)
    assert len(pages) == 1  # headings and notes only: one page
    assert _ink(pages[0]) > 0.002


def _pages(pdf: bytes) -> list[np.ndarray]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [np.asarray(doc[i].render(scale=1).to_pil().convert("RGB")) for i in range(len(doc))]
    finally:
        doc.close()


def _ink(page: np.ndarray) -> float:
    """The share of pixels that are not white."""
    return float((page.min(axis=2) < 200).mean())


def test_markdown_and_html_carry_every_section_and_the_charts(month):
    md = render(month, "md").decode()
    html = render(month, "html").decode()
    for s in month.sections:
        assert f"## {s.title}" in md
        assert f"<h2>{s.title}</h2>" in html
    # the charts as PNG data URIs: the trend, the changes, drivers and themes
    assert len(re.findall(r"!\[\w+\]\(data:image/png;base64,", md)) == 4
    assert html.count("src='data:image/png;base64,") == 4
    nps = next(r for r in month.section("kpis").data["rows"] if r["metric"] == "nps")
    assert f"| {nps['estimate']:,.1f} |" in md


def test_markdown_with_files_writes_the_charts_beside_it(month, tmp_path):
    files = tmp_path / "digest_files"
    md = render(month, "md", files=files).decode()
    pngs = sorted(p.name for p in files.iterdir())
    assert pngs == ["changes.png", "drivers.png", "themes.png", "trend.png"]
    assert "](digest_files/trend.png)" in md and "data:image" not in md
    assert (files / "trend.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_pdf_renders_to_pages_with_text_and_charts(month):
    pdf = render(month, "pdf")
    assert pdf[:5] == b"%PDF-"
    pages = _pages(pdf)
    declared = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert len(pages) == declared >= 2
    assert all(_ink(p) > 0.005 for p in pages)  # every page has something on it
    # the charts' blue (#0b5cad) is drawn somewhere: the images are placed
    blue = np.array([0x0B, 0x5C, 0xAD])
    assert any((np.abs(p.astype(int) - blue).sum(axis=2) < 40).sum() > 500 for p in pages)


def test_personal_data_is_masked_unless_pii(demo_copy):
    db = demo_copy()
    with Workspace.open(db, db.parent / "cxray.toml") as ws:
        ws.store.backend.con.execute(
            "UPDATE _cx_alerts SET title = title || ' call jo@example.com'"
        )
        p = resolve_period("last-month", TODAY)
        masked = loop_section(ws, p, Masking.for_caller(ws.config, pii=False))
        shown = loop_section(ws, p, Masking.for_caller(ws.config, pii=True))
    assert masked["latest"] and all("jo@example.com" in a["title"] for a in shown["latest"])
    assert not any("jo@example.com" in a["title"] for a in masked["latest"])
    assert [a["rule"] for a in masked["latest"]] == [a["rule"] for a in shown["latest"]]


def test_a_period_after_the_data_is_not_shown_as_measured(ws):
    """The demo's data end on 2026-10-31: a digest of November must not show a churn rate of
    0 % (nobody left, since nothing was recorded) or any other KPI as measured."""
    nov = build_digest(ws, resolve_period("last-month", dt.date(2026, 12, 4)))
    assert nov.period.label == "2026-11"
    kpis = nov.section("kpis")
    assert not kpis.available
    assert "the data ends before the period" in kpis.note and "2026-10-31" in kpis.note
    assert "a period with data: 2026-10" in kpis.note
    # October, which has the data, is measured as before
    assert build_digest(ws, resolve_period("last-month", TODAY)).section("kpis").available
