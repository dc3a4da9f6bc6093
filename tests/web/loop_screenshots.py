"""The Inbox and Alerts screenshots of ``docs/screenshots/`` on the default demo world.

``cxray demo --loop`` builds Hearthwell (20,000 customers over 24 months) with its closed
loop replayed: follow-ups worked by named agents, notifications delivered. This script
logs in to a real ``cxray serve`` as the agent ``ana.ruiz`` (an analyst key of that name),
opens one of her follow-ups that a detractor's comment opened and that she has already
worked (its history has a contact and notes), and saves ``inbox.png``; then ``alerts.png``
(the alert history), both 1280×800.

    python3 -m tests.web.loop_screenshots docs/screenshots            # builds the world
    python3 -m tests.web.loop_screenshots docs/screenshots --folder F # F/cxray.duckdb, F/cxray.toml

Needs Debian's ``chromium`` and Playwright (the test extra), as the browser tests do.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests._browser import chromium, log_in
from tests._serve import served

AGENT = "ana.ruiz"
VIEWPORT = {"width": 1280, "height": 800}


def _cxray(folder: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "cxray", "--db", str(folder / "cxray.duckdb"),
         "--config", str(folder / "cxray.toml"), *args],
        capture_output=True, text=True, check=True, timeout=1800, cwd=folder,
    )  # fmt: skip
    return out.stdout


def build(folder: Path) -> None:
    """The default demo world with its closed loop, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "cxray", "demo", "--loop"],
        cwd=folder, check=True, timeout=1800, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def pick(base: str, key: str) -> str:
    """Of the agent's follow-ups on the first page of her Inbox, one opened by a comment,
    contacted but not closed, with the longest history."""
    headers = {"Authorization": f"Bearer {key}"}
    page = httpx.get(
        f"{base}/api/followups",
        params={"mine": "true", "status": "active", "limit": 25},
        headers=headers,
        timeout=120,
    ).json()
    best, size = None, -1
    for row in page["rows"]:
        if row["status"] != "contacted":
            continue
        fu = httpx.get(f"{base}/api/followups/{row['followup_id']}", headers=headers,
                       timeout=60).json()  # fmt: skip
        details = (fu.get("alert") or {}).get("details") or {}
        if not details.get("comment"):
            continue
        if len(fu["history"]) > size:
            best, size = fu["followup_id"], len(fu["history"])
    if best is None:
        raise SystemExit(f"no contacted follow-up of {AGENT} with a comment")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where the PNG files go")
    parser.add_argument("--folder", type=Path, help="a folder with cxray.duckdb (demo --loop)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        if not (folder / "cxray.duckdb").exists():
            build(folder)
        key = _cxray(folder, "keys", "create", "--role", "analyst", "--name", AGENT)
        key = key.strip().splitlines()[-1]
        args.out.mkdir(parents=True, exist_ok=True)
        with served(folder / "cxray.duckdb", folder / "cxray.toml") as base, chromium() as browser:
            page = log_in(browser, base, key, start="/login", **VIEWPORT, timeout_ms=300_000)
            fid = pick(base, key)
            page.goto(f"{base}/inbox?tab=mine&id={fid}")
            page.screenshot(path=str(args.out / "inbox.png"))
            page.goto(f"{base}/alerts")
            page.screenshot(path=str(args.out / "alerts.png"))
    print(f"inbox.png and alerts.png in {args.out} (follow-up {fid})")


if __name__ == "__main__":
    main()
