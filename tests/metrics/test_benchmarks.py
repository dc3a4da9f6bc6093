"""Industry benchmarks: the shipped sets, precedence of targets, the gap on the demo, custom
sets, validation, and the benchmark in the CLI, the API and the overview."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.cli import app as cli_app
from cxray.config import KPI_DIRECTIONS, ProgramConfig, load_program_config
from cxray.config._benchmarks import shipped_sets
from cxray.exceptions import ConfigError
from cxray.workspace import Workspace

SHIPPED = Path(__file__).parents[2] / "src/cxray/config/benchmarks"


def test_every_shipped_set_loads_with_known_kpis_sources_and_consistent_thresholds():
    files = sorted(SHIPPED.glob("*.toml"))
    assert {p.stem for p in files} >= {
        "retail", "financial_services", "healthcare", "saas", "telecom", "travel_hospitality"
    }  # fmt: skip
    sets = shipped_sets()
    assert set(sets) == {p.stem for p in files}
    for name, bench in sets.items():
        raw = tomllib.loads((SHIPPED / f"{name}.toml").read_text())
        assert bench.title and bench.kpis, name
        for kpi, fig in bench.kpis.items():
            assert kpi in KPI_DIRECTIONS, (name, kpi)
            assert fig.source.strip() and fig.scale, (name, kpi)
            assert raw[kpi]["source"] == fig.source
            if fig.target is not None and fig.action is not None:
                if KPI_DIRECTIONS[kpi] == "higher_is_better":
                    assert fig.action < fig.value < fig.target, (name, kpi)
                else:
                    assert fig.action > fig.target, (name, kpi)
    # every set picks up as the industry
    for name in sets:
        assert ProgramConfig(program={"industry": name}).program.industry == name


def test_published_figures_are_the_cited_ones():
    sets = shipped_sets()
    # SQM Group by industry (FCR, CSAT top box), XM Institute NPS, SuperOffice 12 h 10 min
    assert (sets["retail"].kpis["fcr"].value, sets["retail"].kpis["csat"].value) == (78, 81)
    assert (sets["telecom"].kpis["fcr"].value, sets["telecom"].kpis["csat"].value) == (61, 68)
    assert sets["retail"].kpis["nps"].value == 29 and "2024" in sets["retail"].kpis["nps"].source
    assert sets["retail"].kpis["first_response_mean"].value == pytest.approx(12 + 10 / 60, 0.01)


def test_user_targets_win_over_the_industry_which_wins_over_the_defaults():
    plain = ProgramConfig()
    retail = ProgramConfig(program={"industry": "retail"})
    mine = ProgramConfig(
        program={"industry": "retail"}, targets={"nps": {"target": 60, "action": 10}}
    )
    assert (plain.threshold("nps").target, plain.threshold("nps").action) == (50, 0)
    assert (retail.threshold("nps").target, retail.threshold("nps").action) == (39, 19)
    assert (mine.threshold("nps").target, mine.threshold("nps").action) == (60, 10)
    assert mine.threshold("csat").target == 86  # not set by the user: the industry's
    # a benchmark without target/action keeps cxray's default threshold
    assert retail.threshold("first_response_mean").target == 2
    # a KPI the industry has no figure for keeps the default
    assert retail.threshold("health").target == 70


def test_the_init_template_leaves_targets_to_the_industry(tmp_path):
    from cxray.config import DEFAULT_CONFIG_TEXT

    text = DEFAULT_CONFIG_TEXT.replace('# industry = "retail"', 'industry = "retail"', 1)
    path = tmp_path / "cxray.toml"
    path.write_text(text)
    cfg = load_program_config(path)
    assert cfg.program.industry == "retail" and cfg.threshold("nps").target == 39


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cxray.toml"
    path.write_text(text)
    return path


def test_a_custom_set_in_config_and_one_from_a_file(tmp_path):
    cfg = load_program_config(
        _write(
            tmp_path,
            '[program]\nindustry = "acme"\n'
            '[benchmarks.acme]\ntitle = "Acme peers"\n'
            '[benchmarks.acme.nps]\nvalue = 35\ntarget = 45\naction = 20\nsource = "our panel"\n'
            "[benchmarks.acme.time_to_contact]\nvalue = 24\ntarget = 12\naction = 48\n"
            'source = "our SLA"\n',
        )
    )
    assert cfg.benchmark("nps").value == 35 and cfg.threshold("nps").action == 20
    assert cfg.threshold("time_to_contact").target == 12
    assert "retail" in cfg.benchmark_sets  # the shipped ones stay available
    (tmp_path / "peers.toml").write_text(
        'title = "Peers"\n[csat]\nvalue = 77\nsource = "peer survey 2025"\n'
    )
    cfg = load_program_config(
        _write(tmp_path, '[program]\nindustry = "peers"\n[benchmarks.peers]\nfile = "peers.toml"\n')
    )
    assert cfg.benchmark("csat").value == 77 and cfg.benchmark_sets["peers"].title == "Peers"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[program]\nindustry = "retial"\n',
            r"industry: no benchmark set 'retial'; known: .*retail",
        ),
        (
            '[benchmarks.x.nps_score]\nvalue = 3\nsource = "s"\n',
            r"\[benchmarks.x\] unknown KPI 'nps_score'",
        ),
        (
            '[benchmarks.x.nps]\nvalue = 3\ntarget = 10\naction = 20\nsource = "s"\n',
            r"nps: action \(20\) must not be above target \(10\); higher is better",
        ),
        (
            '[benchmarks.x.first_response_mean]\ntarget = 4\naction = 2\nsource = "s"\n',
            r"first_response_mean: action \(2\) must not be below target \(4\); lower is better",
        ),
        ("[benchmarks.x.nps]\nvalue = 3\n", r"\[benchmarks.x.nps.source\] Field required"),
        ('[benchmarks.x.nps]\nvalue = 3\nsource = "s"\nsauce = 1\n', r"nps.sauce\] unknown key"),
        ('[benchmarks.x]\nfile = "missing.toml"\n', r"benchmark file .*missing.toml not found"),
    ],
)
def test_bad_sets_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_program_config(_write(tmp_path, text))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    (folder / "cxray.toml").write_text('[program]\nindustry = "retail"\n')
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=500, months=3)
        key = ApiKeys(ws.store).create("viewer", name="bench")[1]
        records = ws.scorecard().records()
    return folder, db, key, records


def test_gap_is_estimate_minus_benchmark_with_the_interval_shifted(world):
    *_, records = world
    by = {r["metric"]: r for r in records}
    retail = shipped_sets()["retail"].kpis
    checked = 0
    for metric, r in by.items():
        if metric not in retail:
            assert r["benchmark"] is None and r["gap"] is None
            continue
        assert r["benchmark"] == retail[metric].value and r["benchmark_set"] == "retail"
        assert r["gap"] == pytest.approx(r["estimate"] - r["benchmark"])
        assert r["gap_ci_low"] == pytest.approx(r["ci_low"] - r["benchmark"])
        assert r["gap_ci_high"] == pytest.approx(r["ci_high"] - r["benchmark"])
        side = (
            "above" if r["ci_low"] > r["benchmark"]
            else "below" if r["ci_high"] < r["benchmark"]
            else "includes"
        )  # fmt: skip
        assert r["vs_benchmark"] == side
        checked += 1
    assert checked == 4
    # on this demo NPS (29.7 [13.3, 44.2]) cannot be told from retail's 29; FCR lies below 78
    assert by["nps"]["vs_benchmark"] == "includes"
    assert by["fcr"]["vs_benchmark"] == "below"
    # the status follows retail's NPS target 39 / action 19
    assert by["nps"]["status"] == "watch"


def test_cli_lists_sets_and_the_scorecard_shows_the_benchmark(world, monkeypatch):
    folder, db, *_ = world
    monkeypatch.chdir(folder)
    runner = CliRunner()
    out = runner.invoke(cli_app, ["benchmarks"], env={"COLUMNS": "100"})
    assert out.exit_code == 0, out.output
    assert re.search(r"retail \*", out.output) and "travel_hospitality" in out.output
    out = runner.invoke(cli_app, ["benchmarks", "--industry", "telecom"], env={"COLUMNS": "100"})
    assert out.exit_code == 0 and "TV/internet service providers average 9" in out.output
    out = runner.invoke(cli_app, ["benchmarks", "--industry", "nope"])
    assert isinstance(out.exception, ConfigError)  # the CLI's boundary prints it, exit 1
    assert "known: financial_services" in str(out.exception)
    out = runner.invoke(cli_app, ["--db", str(db), "scorecard"], env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    assert "vs retail" in out.output
    assert max(len(line) for line in out.output.splitlines()) <= 80
    nps = next(line for line in out.output.splitlines() if line.startswith("│ NPS"))
    assert re.search(r"29 \+0\.7", nps), nps
    out = runner.invoke(
        cli_app, ["--db", str(db), "scorecard", "--period", "month"], env={"COLUMNS": "80"}
    )
    assert out.exit_code == 0 and re.search(r"n \(last\)\s+retail", out.output), out.output
    assert re.search(r"^NPS .* 29$", out.output, re.M), out.output
    out = runner.invoke(cli_app, ["--db", str(db), "scorecard", "--format", "json"])
    got = {r["metric"]: r for r in json.loads(out.output)}
    assert got["fcr"]["benchmark"] == 78 and got["fcr"]["vs_benchmark"] == "below"


def test_api_and_overview_show_the_benchmark(world):
    folder, db, key, records = world
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        got = client.get("/api/scorecard", headers={"Authorization": f"Bearer {key}"}).json()
        by = {r["metric"]: r for r in got}
        want = {r["metric"]: r for r in records}
        for m in ("nps", "csat", "fcr", "first_response_mean"):
            assert by[m]["benchmark"] == want[m]["benchmark"]
            assert by[m]["gap"] == pytest.approx(want[m]["gap"])
        catalogue = client.get("/api/kpis", headers={"Authorization": f"Bearer {key}"}).json()
        nps = next(k for k in catalogue if k["name"] == "nps")
        assert (nps["benchmark"], nps["target"], nps["action"]) == (29, 39, 19)
        assert next(k for k in catalogue if k["name"] == "health")["benchmark"] is None
        auth = {"Authorization": f"Bearer {key}"}
        sets = client.get("/api/benchmarks", headers=auth).json()
        assert [s["name"] for s in sets if s["selected"]] == ["retail"]
        assert len(sets) == len(shipped_sets())
        one = client.get("/api/benchmarks?industry=telecom", headers=auth).json()
        assert (
            one[0]["kpis"]["nps"]["value"] == 9
            and "XM Institute" in one[0]["kpis"]["nps"]["source"]
        )
        missing = client.get("/api/benchmarks?industry=nope", headers=auth)
        assert missing.status_code == 404 and "known: financial_services" in missing.text
        assert client.get("/api/benchmarks").status_code == 401
        r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        html = client.get("/?from=2000-01-01").text
    shown = re.findall(r'data-gap="([^"]+)" data-side="(\w+)">vs retail benchmark ([^:]+):', html)
    assert len(shown) == 4, shown
    assert any(side == "below" and bench.startswith("78") for _, side, bench in shown)


def test_docs_list_every_shipped_figure():
    doc = (Path(__file__).parents[2] / "docs/benchmarks.md").read_text()
    for name, bench in shipped_sets().items():
        assert f"(`{name}`)" in doc, name
        for kpi, fig in bench.kpis.items():
            cells = [f"{x:g}" if x is not None else "" for x in (fig.value, fig.target, fig.action)]
            assert f"| `{kpi}` | {' | '.join(cells)} |" in doc, (name, kpi)
