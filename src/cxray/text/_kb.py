"""The knowledge base: help-centre articles, to tell which recurring questions they answer.

An article is a **title**, a **URL** (its identity) and a **text**. Articles are
imported from a CSV file or JSON Lines (``.jsonl``/``.ndjson``; a ``.json``
file holds one list of objects) with :func:`import_kb` and kept in the store's
internal table ``_cx_kb_articles``, one row per URL.

**Import rules.** Every row is checked before anything is written: a missing
or empty title or URL, a URL that is not ``http(s)://...`` or a site path
(``/help/...``), a text that is not a string, or a URL twice in the file is an
error naming the file, the row (the header is row 1 of a CSV; the first
object is row 1 of JSON) and the field, and nothing is written. Then, in one
transaction: articles whose URL is new are added, those whose title or text
changed are replaced, the rest are left alone; re-importing the same file
changes nothing. Articles missing from a file stay (``cxray text kb drop``
empties the base).

**Coverage** (:func:`match_articles`): the questions of a FAQ candidate and
every article are put in one TF-IDF space (words of two or more letters, stop
words of their languages removed, lightly stemmed, unigrams and bigrams,
sublinear tf, fitted on the articles and the questions together). An article's
vector is its title's (counted :data:`TITLE_WEIGHT` times) plus its text's,
normalized; a candidate's is the mean of its questions' vectors cut to its
:data:`TOP_TERMS` heaviest terms (what the questions are about, not every word of
their descriptions), normalized. The best article
is the one of highest cosine similarity; the candidate is **covered** when that
similarity is at least :data:`COVERED_AT` (see docs/text-analytics.md for how
the threshold was chosen).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from cxray.exceptions import ModelError, SourceError
from cxray.store import Store
from cxray.text._enrich import _in_transaction
from cxray.text._taxonomy import stem

__all__ = [
    "COVERED_AT",
    "KB_TABLE",
    "TITLE_WEIGHT",
    "Article",
    "KbImport",
    "articles_from_rows",
    "drop_kb",
    "import_kb",
    "kb_articles",
    "kb_version",
    "match_articles",
    "read_kb_file",
]

KB_TABLE = "_cx_kb_articles"
#: a title counts this many times an article's text (titles say what it answers)
TITLE_WEIGHT = 3.0
#: a candidate is covered by its best article at this cosine similarity or above
COVERED_AT = 0.20
#: a group of questions is compared by its heaviest terms only
TOP_TERMS = 10
FIELDS = ("title", "url", "text")
_WORDS = r"(?u)\b[^\W\d_][^\W\d_]+\b"
_URL = re.compile(r"^(https?://[^\s/]+[^\s]*|/[^\s]*)$", re.IGNORECASE)

KB_SCHEMA = ibis.schema(
    {
        "url": "string",
        "title": "string",
        "text": "string",
        "content_hash": "string",
        "imported_at": "timestamp",
    }
)


@dataclass(frozen=True)
class Article:
    title: str
    url: str
    text: str

    @property
    def content_hash(self) -> str:
        key = json.dumps([self.title, self.text], ensure_ascii=False)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url, "text": self.text}


@dataclass(frozen=True)
class KbImport:
    """What one import did: articles added, replaced (changed) and unchanged."""

    source: str
    added: int
    replaced: int
    unchanged: int
    total: int  # articles in the base afterwards

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---------------------------------------------------------------- reading


def parse_mapping(spec: str | Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``title=Headline,url=Link`` (or a list of such, or a dict) -> {field: column}."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        parts = [spec] if isinstance(spec, str) else list(spec)
        pairs = []
        for part in parts:
            for item in part.split(","):
                if not item.strip():
                    continue
                if "=" not in item:
                    raise SourceError(f"--map {item!r}: use field=column, e.g. title=Headline")
                k, v = item.split("=", 1)
                pairs.append((k.strip(), v.strip()))
    out: dict[str, str] = {}
    for k, v in pairs:
        if k not in FIELDS:
            raise SourceError(f"--map {k}={v}: {k!r} is not a field; fields: {', '.join(FIELDS)}")
        if not v:
            raise SourceError(f"--map {k}=: name the column that holds the {k}")
        out[k] = v
    return out


def _records(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The rows of a file as dicts, and the row number of the first one."""
    suffix = path.suffix.lower()
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        for i, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path}: row {i}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise SourceError(f"{path}: row {i}: a JSON object is needed")
            rows.append((i, obj))
        return [r for _, r in rows], 1 if not rows else rows[0][0]
    if suffix == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(data, list):
            raise SourceError(f"{path}: a JSON list of articles is needed")
        return data, 1
    if suffix in (".csv", ".txt", ""):
        reader = csv.DictReader(raw.splitlines())
        return list(reader), 2
    raise SourceError(f"{path}: {suffix} files are not read; use .csv, .jsonl or .json")


def read_kb_file(
    path: str | Path, mapping: str | Sequence[str] | Mapping[str, str] | None = None
) -> list[Article]:
    """The articles of a CSV, JSON Lines or JSON file (every row checked; see the module)."""
    path = Path(path)
    rows, first = _records(path)
    return articles_from_rows(rows, mapping, source=str(path), first_row=first)


def articles_from_rows(
    rows: Iterable[Any],
    mapping: str | Sequence[str] | Mapping[str, str] | None = None,
    *,
    source: str = "request",
    first_row: int = 1,
) -> list[Article]:
    """Articles from dicts (``title``, ``url``, ``text``, or the columns ``mapping`` names)."""
    cols = {f: f for f in FIELDS} | parse_mapping(mapping)
    out: list[Article] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        where = f"{source}: row {first_row + i}"
        if not isinstance(row, Mapping):
            raise SourceError(f"{where}: an object with title, url and text is needed")
        values: dict[str, str] = {}
        for f in FIELDS:
            v = row.get(cols[f])
            if v is None:
                v = ""
            if not isinstance(v, str):
                raise SourceError(
                    f"{where}: field {f} ({cols[f]!r}) is {type(v).__name__}, not text"
                )
            values[f] = v.strip()
        for f in ("title", "url"):
            if not values[f]:
                got = ", ".join(map(str, row.keys())) or "none"
                raise SourceError(
                    f"{where}: field {f} ({cols[f]!r}) is missing or empty; columns: {got}"
                )
        if not _URL.match(values["url"]):
            raise SourceError(
                f"{where}: field url {values['url'][:80]!r} is not an http(s) URL or a /path"
            )
        if values["url"] in seen:
            twin = first_row + seen[values["url"]]
            raise SourceError(f"{where}: field url {values['url']!r} is already row {twin}")
        seen[values["url"]] = i
        out.append(Article(values["title"], values["url"], values["text"]))
    return out


# ---------------------------------------------------------------- the table


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def kb_articles(store: Store) -> list[Article]:
    """Every article of the store's knowledge base, by URL."""
    b = store.backend
    if KB_TABLE not in b.list_tables():
        return []
    rows = b.table(KB_TABLE).select("url", "title", "text").order_by("url").to_pyarrow()
    return [
        Article(t or "", u, x or "")
        for u, t, x in zip(
            rows["url"].to_pylist(),
            rows["title"].to_pylist(),
            rows["text"].to_pylist(),
            strict=True,
        )
    ]


def kb_version(store: Store) -> tuple[Any, ...]:
    """Changes whenever an article is added, replaced or dropped (for caches)."""
    b = store.backend
    if KB_TABLE not in b.list_tables():
        return (0, None)
    t = b.table(KB_TABLE)
    got = t.aggregate(n=t.count(), last=t.imported_at.max()).to_pyarrow().to_pylist()[0]
    return (got["n"], str(got["last"]))


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def import_kb(
    store: Store,
    source: str | Path | Sequence[Article] | Sequence[Mapping[str, Any]],
    *,
    mapping: str | Sequence[str] | Mapping[str, str] | None = None,
) -> KbImport:
    """Add or replace knowledge-base articles by URL: all or nothing, idempotent.

    ``source`` is a file path (CSV, JSON Lines, JSON), or articles, or dicts.
    """
    if store.read_only:
        raise ModelError(f"{store.url} is open read-only; importing articles writes to it")
    if isinstance(source, (str, Path)):
        name = str(source)
        articles = read_kb_file(source, mapping)
    else:
        name = "request"
        items = list(source)
        if items and all(isinstance(a, Article) for a in items):
            articles = list(items)  # type: ignore[arg-type]
            articles_from_rows([a.to_dict() for a in articles], source=name)  # checked alike
        else:
            articles = articles_from_rows(items, mapping, source=name)
    b = store.backend
    if KB_TABLE not in b.list_tables():
        b.create_table(KB_TABLE, schema=KB_SCHEMA)
    t = b.table(KB_TABLE)
    held = t.select("url", "content_hash").to_pyarrow()
    have = dict(zip(held["url"].to_pylist(), held["content_hash"].to_pylist(), strict=True))
    new = [a for a in articles if a.url not in have]
    changed = [a for a in articles if a.url in have and have[a.url] != a.content_hash]
    todo = new + changed
    if todo:
        now = _now()
        stage = f"{KB_TABLE}_stage"
        b.create_table(stage, schema=KB_SCHEMA, overwrite=True)
        try:
            b.insert(
                stage,
                pa.table(
                    {
                        "url": pa.array([a.url for a in todo], pa.string()),
                        "title": pa.array([a.title for a in todo], pa.string()),
                        "text": pa.array([a.text for a in todo], pa.string()),
                        "content_hash": pa.array([a.content_hash for a in todo], pa.string()),
                        "imported_at": pa.array([now] * len(todo), pa.timestamp("us")),
                    }
                ),
            )
            _in_transaction(
                b,
                [
                    f"DELETE FROM {KB_TABLE} WHERE url IN (SELECT url FROM {stage})",
                    f"INSERT INTO {KB_TABLE} SELECT * FROM {stage}",
                ],
            )
        finally:
            b.drop_table(stage, force=True)
    total = int(b.table(KB_TABLE).count().to_pyarrow().as_py())
    return KbImport(name, len(new), len(changed), len(articles) - len(todo), total)


def drop_kb(store: Store) -> int:
    """Remove every article; returns how many there were."""
    if store.read_only:
        raise ModelError(f"{store.url} is open read-only; dropping articles writes to it")
    b = store.backend
    if KB_TABLE not in b.list_tables():
        return 0
    n = int(b.table(KB_TABLE).count().to_pyarrow().as_py())
    b.drop_table(KB_TABLE, force=True)
    return n


# ---------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """The best article for one group of questions, and whether it covers them."""

    covered: bool
    similarity: float
    article: Article | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "covered": self.covered,
            "similarity": round(self.similarity, 4),
            "threshold": COVERED_AT,
            "article": None
            if self.article is None
            else {"title": self.article.title, "url": self.article.url},
        }


def match_articles(
    groups: Sequence[Sequence[str]],
    articles: Sequence[Article],
    *,
    stop_words: Iterable[str] | None = None,
    threshold: float = COVERED_AT,
) -> list[Coverage]:
    """The best article for each group of texts (see the module for the method).

    ``stop_words``: left out of the comparison (default: English stop words).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if not articles:
        return [Coverage(False, 0.0, None) for _ in groups]
    titles = [a.title for a in articles]
    bodies = [a.text for a in articles]
    questions = [t for g in groups for t in g]
    if stop_words is None:
        from cxray.text._language import stopwords

        stop_words = stopwords("en")
    stop = {w for s in stop_words for w in re.findall(r"(?u)\b\w\w+\b", s.lower())}

    def analyzer(doc: str) -> list[str]:
        toks = [stem(w) for w in re.findall(_WORDS, doc.lower()) if w not in stop]
        return toks + [f"{a} {b}" for a, b in pairwise(toks)]

    vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=np.float64)
    try:
        vec.fit([*titles, *bodies, *questions])
    except ValueError:  # nothing but stop words anywhere
        return [Coverage(False, 0.0, None) for _ in groups]
    art = normalize(
        normalize(vec.transform(titles)) * TITLE_WEIGHT + normalize(vec.transform(bodies))
    )
    out = []
    for g in groups:
        if not g:
            out.append(Coverage(False, 0.0, None))
            continue
        q = np.asarray(normalize(vec.transform(list(g))).mean(axis=0)).ravel()
        if np.count_nonzero(q) > TOP_TERMS:  # what the group is about, not its every word
            q[np.argsort(-q, kind="stable")[TOP_TERMS:]] = 0.0
        norm = float(np.linalg.norm(q))
        if norm == 0:
            out.append(Coverage(False, 0.0, None))
            continue
        sims = np.asarray(art @ (q / norm)).ravel()
        best = int(np.argmax(sims))
        s = float(sims[best])
        out.append(Coverage(s >= threshold, s, articles[best] if s > 0 else None))
    return out
