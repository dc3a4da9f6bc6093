"""Scoring a CSV or JSON Lines file of texts without importing it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cxray.exceptions import SourceError

__all__ = ["TextScorer", "read_text_file", "score_rows", "unscored_languages", "write_scored"]

_JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}


class TextScorer(Protocol):
    def score_texts(self, texts: Any) -> tuple[np.ndarray, np.ndarray]: ...


def file_format(path: Path) -> str:
    """``csv`` or ``json`` (JSON Lines), from the suffix (``.csv`` when unknown)."""
    return "json" if path.suffix.lower() in _JSON_SUFFIXES else "csv"


def read_text_file(path: str | Path, column: str) -> tuple[list[dict[str, Any]], list[str], str]:
    """Rows (as dicts), column names and the format of a CSV or JSON Lines file.

    CSV cells are read as text, exactly as written. ``column`` must be one of
    the file's columns.
    """
    import csv

    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise SourceError(f"{path} is not a text file; give a CSV or JSON Lines file of texts")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    fmt = file_format(path)
    if fmt == "json":
        rows: list[dict[str, Any]] = []
        columns: dict[str, None] = {}
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path}, line {n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise SourceError(f"{path}, line {n}: expected a JSON object per line")
            rows.append(row)
            columns.update(dict.fromkeys(row))
        names = list(columns)
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        names = list(reader.fieldnames or [])
        if not names:
            raise SourceError(f"{path} is empty; expected a header row naming the columns")
        rows = [dict(r) for r in reader]
    if column not in names:
        near = [c for c in names if c.strip().lower() == column.strip().lower()]
        hint = (
            f"; did you mean {near[0]!r}?"
            if near
            else f"; it has {', '.join(map(repr, names[:10]))}"
        )
        raise SourceError(f"{path} has no column {column!r}{hint}")
    return rows, names, fmt


def score_rows(
    rows: list[dict[str, Any]], column: str, model: TextScorer, *, decimals: int = 4
) -> list[dict[str, Any]]:
    """The rows with ``sentiment_label``, ``sentiment_score`` and ``language`` added.

    An empty text gets no score; a text in a language the model does not
    support (its ``languages_``; English for the out-of-the-box scorer) gets its
    language but no label or score (:func:`unscored_languages` says which).
    """
    from cxray.text._language import UNDETERMINED, detect_languages
    from cxray.text._scorers import supported_languages

    texts = [r.get(column) if isinstance(r.get(column), str) else None for r in rows]
    has = np.array([bool(t and t.strip()) for t in texts], dtype=bool)
    langs = np.asarray(detect_languages(texts), dtype=object)
    ok = has & np.isin(langs.astype(str), [*supported_languages(model), UNDETERMINED])
    labels = np.full(len(texts), None, dtype=object)
    scores = np.full(len(texts), np.nan)
    if ok.any():
        keep = np.flatnonzero(ok)
        lab, sc = model.score_texts([texts[i] for i in keep])
        labels[keep], scores[keep] = np.asarray(lab, dtype=object), np.asarray(sc, dtype=float)
    out = []
    for r, scored, text_ok, s, lab, lang in zip(rows, ok, has, scores, labels, langs, strict=True):
        out.append(
            r
            | {
                "sentiment_label": str(lab) if scored else None,
                "sentiment_score": round(float(s), decimals) if scored else None,
                "language": str(lang) if text_ok else None,
            }
        )
    return out


def unscored_languages(rows: list[dict[str, Any]], model: TextScorer) -> list[Any]:
    """Per language of scored ``rows`` the model does not support: a
    :class:`cxray.text.LanguageGap` (texts left unscored, what to do), most first."""
    from cxray.text._language import language_gaps
    from cxray.text._scorers import supported_languages

    codes = [r["language"] for r in rows if r.get("language")]
    return language_gaps(codes, supported_languages(model))


_NEW = ("sentiment_label", "sentiment_score", "language")


def write_scored(rows: list[dict[str, Any]], names: list[str], fmt: str, out: Any) -> None:
    """Write scored rows as CSV (input columns, then the new ones) or JSON Lines."""
    import csv

    fields = [*[n for n in names if n not in _NEW], *_NEW]
    if fmt == "json":
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        return
    w = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
