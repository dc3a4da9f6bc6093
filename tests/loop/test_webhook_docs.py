"""The webhook verification examples of docs/loop.md verify what cxray signs (and nothing
else): the Python one always, the Node.js one where ``node`` is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from cxray.loop import sign
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "loop.md").read_text(encoding="utf-8")
SECRET = b"a-receiver's-secret"
BODY = '{"event":"alert.fired","alert":{"title":"Détracteur"}}'.encode()


def _block(lang: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.S)
    found = [b for b in blocks if "function verify" in b or "def verify" in b]
    assert len(found) == 1, f"one {lang} verify example in docs/loop.md"
    return found[0]


def test_python_example_verifies_signatures():
    space: dict = {}
    exec(_block("python"), space)  # the documentation's own code
    verify = space["verify"]
    ts = int(time.time())
    sig = sign(SECRET, ts, BODY)
    assert verify(SECRET, str(ts), BODY, sig)
    assert not verify(SECRET, str(ts), BODY + b" ", sig)  # another body
    assert not verify(b"other", str(ts), BODY, sig)  # another secret
    old = ts - 600
    assert not verify(SECRET, str(old), BODY, sign(SECRET, old, BODY))  # a replay


@pytest.mark.skipif(shutil.which("node") is None, reason="no node")
def test_node_example_verifies_signatures(tmp_path):
    script = tmp_path / "verify.js"
    script.write_text(
        _block("js")
        + "\nconst [s, ts, body, sig] = process.argv.slice(2);\n"
        + "console.log(verify(s, ts, Buffer.from(body, 'utf8'), sig),"
        + " verify(s, ts, Buffer.from(body + ' ', 'utf8'), sig));\n"
    )
    ts = int(time.time())
    sig = sign(SECRET, ts, BODY)
    out = subprocess.run(
        ["node", str(script), SECRET.decode(), str(ts), BODY.decode(), sig],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["true", "false"]
