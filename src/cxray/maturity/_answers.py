"""Answers to the questionnaire: read from a TOML file or a mapping, checked, and the template.

An answers file has one table per dimension and one key per question, each answer the
score of the chosen option (0 to 3)::

    [leadership_strategy]
    vision = 2      # Written, with goals for the year

A mapping may be nested the same way or flat with dotted ids (``"leadership_strategy.vision"``).
An unknown dimension or question, or an answer outside 0–3, is a :class:`QueryError` that
names where it is (file, line, key); nothing is assessed or written then.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cxray.exceptions import QueryError
from cxray.maturity._model import DIMENSIONS, LEVELS

__all__ = ["parse_answers", "read_answers", "template"]

_DIMENSION_IDS = [d.id for d in DIMENSIONS]


def _line(text: str | None, section: str, key: str | None = None) -> str:
    """``line N: `` of a section header (or a key inside it) in the file's text, if found."""
    if text is None:
        return ""
    inside = False
    header = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]\s*(#.*)?$")
    for n, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            if key is None:
                return f"line {n}: "
            inside = True
            continue
        if inside and re.match(r"^\s*\[", line):
            inside = False
        if inside and re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
            return f"line {n}: "
        if key is not None and re.match(r"^\s*" + re.escape(f"{section}.{key}") + r"\s*=", line):
            return f"line {n}: "
    return ""


def parse_answers(
    data: Mapping[str, Any], *, where: str = "answers", text: str | None = None
) -> dict[str, int]:
    """Checked answers, ``{question id: score}``, from a nested or flat mapping.

    ``where`` names the source in messages (a file's path); ``text``, the file's text, lets
    them give the line."""
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        raise QueryError(f"{where}: answers must be a table of dimensions, got {kind}")
    flat: dict[str, tuple[Any, str]] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            if key not in _DIMENSION_IDS:
                raise QueryError(
                    f"{where}: {_line(text, key)}[{key}]: unknown dimension; known: "
                    + ", ".join(_DIMENSION_IDS)
                )
            for q, v in value.items():
                flat[f"{key}.{q}"] = (v, f"{_line(text, key, q)}[{key}] {q}")
        else:
            flat[str(key)] = (value, str(key))
    by_dim = {d.id: d for d in DIMENSIONS}
    out: dict[str, int] = {}
    for qid, (value, loc) in flat.items():
        dim, _, q = qid.partition(".")
        if dim not in by_dim:
            raise QueryError(
                f"{where}: {loc}: unknown dimension {dim!r}; known: " + ", ".join(_DIMENSION_IDS)
            )
        keys = [x.key for x in by_dim[dim].questions]
        if q not in keys:
            raise QueryError(
                f"{where}: {loc}: unknown question {qid!r}; the questions of "
                f"{dim} are {', '.join(keys)}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
            raise QueryError(
                f"{where}: {loc} = {value!r}: an answer is the score of the "
                "chosen option, a whole number from 0 to 3"
            )
        out[qid] = int(value)
    return out


def read_answers(path: str | Path) -> dict[str, int]:
    """The checked answers of a TOML file (see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"{p}: cannot read the answers file ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QueryError(f"{p}: not valid TOML: {exc}") from None
    return parse_answers(data, where=str(p), text=text)


def template() -> str:
    """A commented answers file: every question with its options; answers to fill in."""
    lines = [
        "# cxray maturity: answers to the CX maturity questionnaire (docs/maturity.md)",
        "# Each answer is the score of the option that fits best, 0 to 3. Delete or leave",
        "# commented the questions you do not want to answer. Then run:",
        "#   cxray maturity --answers THIS_FILE",
        "# Levels: " + ", ".join(f"{lv.name}" for lv in LEVELS),
        "",
    ]
    for d in DIMENSIONS:
        lines.append(f"[{d.id}]  # {d.title}")
        for q in d.questions:
            lines.append(f"# {q.text}")
            for i, o in enumerate(q.options):
                lines.append(f"#   {i}: {o}")
            lines.append(f"# {q.key} = ")
        lines.append("")
    return "\n".join(lines)
