"""``cxray surveys``: list, show, link and invite against a real store and cxray.toml."""

from __future__ import annotations

import json
import socket
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from cxray.app import create_app
from cxray.cli import main
from cxray.cli._surveys import to_toml
from cxray.config import SurveysConfig, load_program_config
from cxray.store import INVITATIONS
from cxray.workspace import Workspace

CONFIG = """\
[surveys]
fatigue_days = 30
base_url = "https://cx.example.com/"
sender = "Hearthwell <surveys@hearthwell.example>"

[surveys.post_case]
title = { en = "How did we do?", de = "Wie waren wir?" }
languages = ["en", "de"]
touchpoint = "case_resolved"
public = false
invitation_days = 7

[[surveys.post_case.questions]]
id = "nps"
type = "nps"
text = { en = "How likely are you to recommend us?", de = "Wie wahrscheinlich ..." }
required = true

[[surveys.post_case.questions]]
id = "improve"
type = "text"
text = "What could we do better? \\"Honestly\\"\\ttab"
show_if = { question = "nps", max = 6 }

[[surveys.post_case.questions]]
id = "topics"
type = "multiple"
text = "What was it about?"
choices = { price = { en = "Price", de = "Preis" }, speed = "Speed" }

[surveys.site]
title = "Website feedback"

[[surveys.site.questions]]
id = "csat"
type = "csat"
text = "How satisfied are you with our website?"
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def store(tmp_path, monkeypatch) -> tuple[str, str]:
    """A store with six customers and their cases, and a cxray.toml with two surveys."""
    monkeypatch.chdir(tmp_path)
    for var in ("CXRAY_DB", "CXRAY_CONFIG", "CXRAY_SMTP_HOST", "CXRAY_SMTP_PORT"):
        monkeypatch.delenv(var, raising=False)
    db, cfg = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
            "created_at": ["2025-01-01"] * 6,
            "email": ["ann@example.com", "bo@example.com", None, "dee@example.com",
                      "eve@example.com", "fay@example.com"],
            "name": ["Ann", "Bo", "Cy", "Dee", "Eve", "Fay"],
            "churned_at": [None, None, None, "2026-01-05", None, None],
        }
    )  # fmt: skip
    cases = pd.DataFrame(
        {
            "case_id": ["K1", "K2", "K3", "K4", "K5", "K6", "K7"],
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C1", "C6"],
            "opened_at": ["2026-03-01"] * 7,
            "resolved_at": ["2026-03-10 10:00", "2026-03-10 15:00", "2026-03-10 09:00",
                            "2026-03-10 11:00", "2026-03-12 09:00", "2026-03-10 08:00", None],
        }
    )  # fmt: skip
    with Workspace.open(db, cfg) as ws:
        ws.import_frame("customers", customers)
        ws.import_frame("cases", cases)
    return str(db), str(cfg)


def cx(capsys, store, *args: str) -> tuple[int, str, str]:
    return run(capsys, "--db", store[0], "--config", store[1], "surveys", *args)


def invitations(store) -> list[dict]:
    with Workspace.open(*store) as ws:
        rows = ws.store.backend.table(INVITATIONS).to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: r["customer_id"])


def test_list_shows_every_survey_with_counts(capsys, store):
    code, out, _ = cx(capsys, store, "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert list(rows) == ["post_case", "site"]
    rate = rows["post_case"].pop("response_rate")
    assert (rate["n"], rate["estimate"], rate["reason"]) == (0, None, "no responses")
    assert rows["post_case"] == {
        "name": "post_case", "source": "config", "touchpoint": "case_resolved", "public": False,
        "languages": ["en", "de"], "questions": 3, "invited": 0, "sent": 0, "responded": 0,
    }  # fmt: skip
    assert (rows["site"]["touchpoint"], rows["site"]["public"]) == ("relationship", True)
    code, out, _ = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                      "--to", "2026-03-10")  # fmt: skip
    assert code == 0
    code, out, _ = cx(capsys, store, "list")
    assert code == 0
    line = next((x for x in out.splitlines() if "post_case" in x), out)
    assert line.split()[:4] == ["post_case", "config", "case_resolved", "no"] and "en, de" in line
    assert line.split()[-3:] == ["3", "0", "0"]  # invited, sent, responded
    code, out, _ = cx(capsys, store, "list", "--json")
    rate = json.loads(out)[0]["response_rate"]
    assert (rate["n"], rate["unit"], rate["suppressed"]) == (3, "%", True)  # 3 < min_n


def test_list_shows_surveys_defined_through_the_api(capsys, store):
    with Workspace.open(*store) as ws:
        ws.surveys.registry.save(
            "app_pulse",
            {"title": "Pulse", "questions": [{"id": "ces", "type": "ces", "text": "Easy?"}]},
        )
    code, out, _ = cx(capsys, store, "list", "--json")
    row = next(r for r in json.loads(out) if r["name"] == "app_pulse")
    assert code == 0 and row["source"] == "api" and row["questions"] == 1
    code, out, _ = cx(capsys, store, "show", "app_pulse")
    assert code == 0 and "the store (defined through the API)" in out


def test_show_prints_toml_that_defines_the_same_survey(capsys, store):
    code, out, _ = cx(capsys, store, "show", "post_case")
    assert code == 0
    assert out.startswith(f"# post_case: defined in {store[1]}\n[surveys.post_case]\n")
    assert "[[surveys.post_case.questions]]" in out
    again = SurveysConfig.model_validate(tomllib.loads(out)["surveys"])
    original = load_program_config(store[1]).surveys.define["post_case"]
    assert again.define["post_case"] == original  # the round trip loses nothing
    assert again.define["post_case"].questions[1].text == 'What could we do better? "Honestly"\ttab'


def test_show_json_and_an_unknown_survey(capsys, store):
    code, out, _ = cx(capsys, store, "show", "site", "--json")
    d = json.loads(out)
    assert code == 0 and d["source"] == "config"
    assert d["definition"]["questions"][0] == {
        **d["definition"]["questions"][0], "id": "csat", "type": "csat", "required": False,
    }  # fmt: skip
    assert d["definition"]["languages"] == ["en"] and d["definition"]["invitation_days"] == 14
    code, out, err = cx(capsys, store, "show", "nope")
    assert code == 1 and out == ""
    assert err.startswith("error: no survey named 'nope' (surveys: post_case, site)")


def test_link_and_embed_snippet_use_the_base_url(capsys, store):
    code, out, _ = cx(capsys, store, "link", "site")
    assert code == 0
    assert out.splitlines() == [
        "link:  https://cx.example.com/s/site",
        'embed: <script src="https://cx.example.com/s/site/embed.js" async></script>',
    ]
    code, out, _ = cx(capsys, store, "link", "post_case", "--language", "de", "--json")
    assert code == 0 and json.loads(out) == {
        "name": "post_case",
        "public": False,
        "link": "https://cx.example.com/s/post_case?lang=de",
        "embed": '<script src="https://cx.example.com/s/post_case/embed.js" data-lang="de" '
        "async></script>",
    }
    code, out, _ = cx(capsys, store, "link", "post_case")
    assert code == 0 and "invitation only" in out
    code, _, err = cx(capsys, store, "link", "site", "--language", "fr")
    assert code == 1 and "error: survey 'site' is not offered in 'fr' (languages: en)" in err


def test_invite_dry_run_lists_and_stores_nothing(capsys, store):
    code, out, _ = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                      "--to", "2026-03-10", "--dry-run", "--json")  # fmt: skip
    assert code == 0
    d = json.loads(out)
    # latest resolution first; C4 churned; C5's case is outside the window; C1 once (its latest)
    assert d["dry_run"] is True and d["count"] == 3
    assert [(i["customer_id"], i["email"], i["context"]) for i in d["invitees"]] == [
        ("C2", "bo@example.com", "case:K2"),
        ("C1", "ann@example.com", "case:K1"),
        ("C3", None, "case:K3"),
    ]
    code, out, _ = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                      "--to", "2026-03-10", "--dry-run", "--limit", "1")  # fmt: skip
    assert code == 0 and "would invite 1 customer\n" in out and "C2\tbo@example.com\tcase:K2" in out
    assert invitations(store) == []


def test_invite_stores_invitations_with_working_links(capsys, store):
    code, out, _ = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                      "--to", "2026-03-11T00:00", "--language", "de", "--json")  # fmt: skip
    assert code == 0
    d = json.loads(out)
    assert d["count"] == 3 and "sent" not in d
    stored = invitations(store)
    assert [r["customer_id"] for r in stored] == ["C1", "C2", "C3"]
    assert {r["language"] for r in stored} == {"de"} and all(r["sent_at"] is None for r in stored)
    by_id = {r["invitation_id"]: r for r in stored}
    with Workspace.open(*store) as ws:
        for inv in d["invitations"]:
            assert inv["link"].startswith("https://cx.example.com/s/post_case?t=")
            token = inv["link"].split("?t=", 1)[1]
            checked = ws.surveys.verify_token("post_case", token)
            assert checked.invitation_id == inv["invitation_id"]
            assert checked.customer_id == by_id[inv["invitation_id"]]["customer_id"]
            row = by_id[inv["invitation_id"]]
            assert (row["expires_at"] - row["created_at"]).days == 7  # invitation_days
    # the fatigue rule: asked again at once, nobody is left to invite
    code, out, _ = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                      "--to", "2026-03-10")  # fmt: skip
    assert code == 0 and "nobody to invite" in out
    assert len(invitations(store)) == 3


def test_invite_prints_one_line_per_invitation_with_its_link(capsys, store):
    code, out, _ = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                      "--to", "2026-03-10", "--limit", "2")  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "invited 2 customers to 'post_case'"
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[:2] for r in rows] == [["C2", "bo@example.com"], ["C1", "ann@example.com"]]
    links = {r["customer_id"]: r["invitation_id"] for r in invitations(store)}
    with Workspace.open(*store) as ws:
        for cid, _, link in rows:
            token = link.removeprefix("https://cx.example.com/s/post_case?t=")
            assert ws.surveys.verify_token("post_case", token).invitation_id == links[cid]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-03-10"), "give the touchpoint window: --from DATE --to DATE"),
        (("--from", "2026-13-01", "--to", "2026-03-11"), "--from '2026-13-01': not a date"),
        (("--since", "2026-13-01", "--to", "2026-03-11"), "--since '2026-13-01': not a date"),
        (("--from", "2026-03-11", "--to", "2026-03-10"), "the window is empty"),
        (("--yesterday", "--from", "2026-03-10"), "--yesterday and --from/--to exclude"),
        (("--yesterday", "--send", "--dry-run"), "--send and --dry-run exclude each other"),
        (("--yesterday", "--smtp-port", "2525"), "--smtp-host/--smtp-port go with --send"),
        (("--yesterday", "--language", "fr"), "survey 'post_case' is not offered in 'fr'"),
    ],
)
def test_invite_mistakes_give_one_line_and_store_nothing(capsys, store, args, message):
    code, out, err = cx(capsys, store, "invite", "post_case", *args)
    assert code == 1 and out == ""
    assert err.startswith("error: " + message), err
    assert invitations(store) == []


def test_invite_send_to_an_unreachable_server_invites_nobody(capsys, store):
    port = _closed_port()
    code, out, err = cx(capsys, store, "invite", "post_case", "--from", "2026-03-10",
                        "--to", "2026-03-10", "--send", "--smtp-host", "127.0.0.1",
                        "--smtp-port", str(port))  # fmt: skip
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot reach the SMTP server 127.0.0.1:{port}")
    assert "nobody was invited" in err
    assert invitations(store) == []


def test_yesterday_window_finds_nobody_in_an_old_world(capsys, store):
    code, out, _ = cx(capsys, store, "invite", "post_case", "--yesterday", "--json")
    assert code == 0 and json.loads(out) == {"count": 0, "invitations": []}


def test_commands_need_an_existing_store(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "--db", str(tmp_path / "none.duckdb"), "surveys", "list")
    assert code == 1 and "no cxray store at" in err
    assert not (tmp_path / "none.duckdb").exists()


def test_the_example_in_the_docs_is_a_valid_config(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "surveys.md").read_text("utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(example, encoding="utf-8")
    survey = load_program_config(cfg).surveys.define["post_case"]
    assert [q.id for q in survey.questions] == ["nps", "improve", "topics"]
    assert survey.steps == 2 and not survey.public
    with Workspace.open(tmp_path / "cx.duckdb", cfg):
        pass
    code, out, _ = run(capsys, "--db", str(tmp_path / "cx.duckdb"), "--config", str(cfg),
                       "surveys", "link", "post_case")  # fmt: skip
    assert code == 0 and "https://cx.hearthwell.example/s/post_case/embed.js" in out


def test_the_embed_snippet_frames_the_survey_at_the_base_url(capsys, store):
    code, out, _ = cx(capsys, store, "link", "site")
    assert code == 0
    script = out.split('src="', 1)[1].split('"', 1)[0]
    assert script == "https://cx.example.com/s/site/embed.js"
    with TestClient(create_app(*store), raise_server_exceptions=False) as client:
        js = client.get(script.removeprefix("https://cx.example.com")).text
    assert '"https://cx.example.com/s/site?embed=1"' in js


_texts = st.text(max_size=30) | st.dictionaries(
    st.sampled_from(["en", "de", "pt-BR"]), st.text(max_size=20), min_size=1, max_size=3
)


@settings(max_examples=150, deadline=None)
@given(
    title=_texts,
    intro=st.none() | _texts,
    choices=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4, unique=True),
    labels=st.booleans(),
    low=st.none() | _texts,
    bound=st.integers(-5, 5),
)
def test_any_definition_prints_as_toml_that_reads_back_the_same(
    title, intro, choices, labels, low, bound
):
    choice_spec = {c: f"{c}!" for c in choices} if labels else choices
    survey = {
        "title": title,
        "intro": intro,
        "languages": ["en", "de"],
        "questions": [
            {"id": "nps", "type": "nps", "text": title, "required": True, "low_label": low},
            {"id": "pick", "type": "multiple", "text": "x", "choices": choice_spec,
             "show_if": {"question": "nps", "max": 6}},
            {"id": "stars", "type": "rating", "text": "y", "min": bound, "max": bound + 3},
            {"id": "why", "type": "single", "text": "z", "choices": choices,
             "show_if": {"question": "pick", "any_of": choices[:1]}},
        ],
    }  # fmt: skip
    original = SurveysConfig.model_validate({"s-1": survey}).define["s-1"]
    text = to_toml("s-1", original.model_dump(mode="json", exclude_defaults=True))
    assert SurveysConfig.model_validate(tomllib.loads(text)["surveys"]).define["s-1"] == original
