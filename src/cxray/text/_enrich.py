"""Sentiment in the store: learning the domain model from it, and scoring every text field.

Scores live in a table of their own, ``text_sentiment``, one row per
(table_name, row_key, field), rather than as columns of the canonical tables:

* the canonical tables hold what the team imported, nothing else, so an import
  compares and replaces rows exactly as written and never overwrites or drops
  a derived value;
* one row per text field (``responses.comment``, ``cases.subject``,
  ``cases.description``, ``mentions.text``) with the same columns everywhere,
  which other analyses (themes, trends, the dashboard) join by key;
* each score records the model that made it and the MD5 of the text it scored,
  so ``enrich`` re-scores only rows that are new, whose text changed, or that
  an older model scored, and is idempotent: a second run writes nothing.

The learned domain model is kept in the store too (``_cx_text_models``), as the
bytes of its ``.npz`` file, so it travels with the data it was learned from and
works for every backend; it is read without unpickling. A newly learned model
becomes the active one only when it beats the active scorer on held-out texts
with its interval (or when forced); the evaluation of the last training is
kept beside it either way.

Each score records the language of its text (``language``, ISO 639-1 or
``und``); a text in a language the scorer was not made for is stored with no
score and no label rather than a confident wrong one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from cxray.config import ProgramConfig
from cxray.exceptions import CXError, ModelError
from cxray.store import Store
from cxray.text._domain import DomainSentiment
from cxray.text._evaluate import SentimentEvaluation, check_labelled, evaluate_sentiment
from cxray.text._general import GeneralSentiment
from cxray.text._labels import LABELS, labels_from_nps, labels_from_scale
from cxray.text._language import UNDETERMINED, LanguageGap, detect_languages, language_gaps
from cxray.text._lexicon import LexiconSentiment
from cxray.text._scorers import (
    DEFAULT_MODEL_ID,
    default_scorer,
    resolve_model,
    supported_languages,
)

__all__ = [
    "DEFAULT_MODEL_ID",
    "MODELS_TABLE",
    "SENTIMENT_TABLE",
    "TEXT_FIELDS",
    "EnrichReport",
    "TrainReport",
    "default_scorer",
    "enrich_imported",
    "enrich_sentiment",
    "labelled_texts",
    "load_store_model",
    "model_info",
    "resolve_model",
    "store_language_gaps",
    "supported_languages",
    "train_store_model",
]

ProgressFn = Callable[[str, int, int], None]

#: every free-text field of the contract: table -> (primary key, text columns)
TEXT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "responses": ("response_id", ("comment",)),
    "cases": ("case_id", ("subject", "description")),
    "mentions": ("mention_id", ("text",)),
}
SENTIMENT_TABLE = "text_sentiment"
MODELS_TABLE = "_cx_text_models"
_MODEL_NAME = "sentiment"
_LAST_TRAIN = "sentiment-last-training"  # the evaluation of the last `cxray text train`
_DIGESTS = "sentiment-training-digests"  # 64-bit digests of the active model's training texts

SENTIMENT_SCHEMA = ibis.schema(
    {
        "table_name": "string",
        "row_key": "string",
        "field": "string",
        "text_hash": "string",
        "sentiment_score": "float64",
        "sentiment_label": "string",
        "model": "string",
        "scored_at": "timestamp",
        "language": "string",  # ISO 639-1 of the text, "und" when undetermined
    }
)
MODELS_SCHEMA = ibis.schema(
    {
        "name": "string",
        "model_id": "string",
        "created_at": "timestamp",
        "n_train": "int64",
        "evaluation": "string",
        "model": "binary",
    }
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- learning


def labelled_texts(store: Store, config: ProgramConfig) -> tuple[list[str], list[str], dict]:
    """Texts that come with a score, labelled in three classes, and where they came from.

    Responses: ``comment`` with ``nps`` (0-6 / 7-8 / 9-10), else with ``csat``
    (cut at the middle of the configured scale). Mentions: ``text`` with a
    star ``rating`` (1-5: 1-2 / 3 / 4-5).
    """
    texts: list[str] = []
    labels: list[str] = []
    sources: dict[str, int] = {}
    r = store.table("responses")
    rows = (
        r.filter(r.comment.notnull() & (r.nps.notnull() | r.csat.notnull()))
        .select("comment", "nps", "csat")
        .to_pyarrow()
    )
    if rows.num_rows:
        comment = rows["comment"].to_pylist()
        by_nps = labels_from_nps(rows["nps"].to_pylist())
        scale = config.scales.csat
        by_csat = labels_from_scale(rows["csat"].to_pylist(), low=scale.min, high=scale.max)
        if scale.direction != "higher_is_better":
            flip = {LABELS[0]: LABELS[2], LABELS[2]: LABELS[0]}
            by_csat = np.array([flip.get(x, x) for x in by_csat], dtype=object)
        for text, a, b in zip(comment, by_nps, by_csat, strict=True):
            label = a if a is not None else b
            if label is not None and text.strip():
                texts.append(text)
                labels.append(label)
        sources["responses"] = len(texts)
    m = store.table("mentions")
    rows = m.filter(m.text.notnull() & m.rating.notnull()).select("text", "rating").to_pyarrow()
    if rows.num_rows:
        before = len(texts)
        by_rating = labels_from_scale(rows["rating"].to_pylist(), low=1, high=5)
        for text, label in zip(rows["text"].to_pylist(), by_rating, strict=True):
            if label is not None and text.strip():
                texts.append(text)
                labels.append(label)
        sources["mentions"] = len(texts) - before
    return texts, labels, sources


@dataclass(frozen=True)
class TrainReport:
    """What ``train_store_model`` learned from, how it compares with the active scorer, and
    whether it became the active one.

    ``activated`` is true when the new model now scores the store's texts: it
    beat the active scorer on the held-out texts with its interval (the lower
    bound of the paired bootstrap 95 % interval of the macro-F1 difference is
    above 0), or ``force`` was given. ``reason`` says which, in words.
    """

    evaluation: SentimentEvaluation
    sources: dict[str, int]
    model_id: str
    saved: bool
    activated: bool = False
    reason: str = ""
    previous: str = DEFAULT_MODEL_ID  # the active scorer before this training
    forced: bool = False
    trained_at: dt.datetime | None = None
    languages: tuple[str, ...] = ()

    @property
    def active(self) -> str:
        """The id of the active scorer after this training."""
        return self.model_id if self.activated else self.previous

    @property
    def interval(self) -> tuple[float, float] | None:
        d = self.evaluation.difference
        return None if d is None else (d.ci_low, d.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.evaluation.to_dict(),
            "sources": self.sources,
            "model_id": self.model_id,
            "activated": self.activated,
            "forced": self.forced,
            "reason": self.reason,
            "previous": self.previous,
            "active": self.active,
            "saved": self.saved,
            "trained_at": None if self.trained_at is None else self.trained_at.isoformat(),
            "languages": list(self.languages),
        }


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "\u2212")


def _reason(ev: SentimentEvaluation, activated: bool, forced: bool) -> str:
    d = ev.difference
    if d is None:  # pragma: no cover - evaluate_sentiment always measures it
        return "activated" if activated else "kept the active model"
    figures = (
        f"the new one scored {ev.f1_domain:.2f} vs {ev.f1_default:.2f} ({ev.baseline}), "
        f"difference {_signed(d.estimate)} [{_signed(d.ci_low)}, {_signed(d.ci_high)}]"
    )
    if forced and not ev.beats_baseline:
        return f"activated because of --force, although {figures} (95% interval not above 0)"
    if activated:
        return f"activated: {figures}, above 0 with its 95% interval"
    return f"kept the active model: {figures}; it must be better with its 95% interval"


def train_store_model(
    store: Store,
    config: ProgramConfig,
    *,
    test_size: float = 0.2,
    random_state: int = 42,
    save: bool = True,
    force: bool = False,
) -> TrainReport:
    """Learn a domain model from the store's labelled texts; activate it only if it wins.

    The candidate is fitted on a seeded stratified ``1 - test_size`` of the
    labelled texts and compared, on the rest, with the active scorer (the
    store's domain model if there is one, else the out-of-the-box scorer):
    macro-F1 of both and the paired bootstrap 95 % interval of the
    difference. It is activated only if that interval lies above 0, or with
    ``force``; the model kept then is learned from every labelled text. The
    evaluation is kept in the store either way (:func:`model_info`). An
    earlier domain model is compared on the held-out texts it was not trained
    on (digests of its training texts are kept with it).
    """
    texts, labels, sources = labelled_texts(store, config)
    check_labelled(texts, labels)
    active, active_id = resolve_model(None, store, missing_ok=True)
    unseen = None
    if isinstance(active, DomainSentiment):
        seen = _load_digests(store)
        if seen is not None:
            unseen = ~np.isin(_digests(texts), seen)
    evaluation = evaluate_sentiment(
        texts,
        labels,
        test_size=test_size,
        random_state=random_state,
        default=active,
        default_id=active_id,
        unseen_by_default=unseen,
    )
    activate = bool(force or evaluation.beats_baseline)
    languages = tuple(evaluation.model.languages_) if evaluation.model is not None else ()
    if activate:
        model = DomainSentiment(random_state=random_state).fit(texts, labels)
        blob = model.to_bytes()
        model_id = _model_id(blob)
        languages = tuple(model.languages_)
    else:
        assert evaluation.model is not None
        blob = None
        model_id = _model_id(evaluation.model.to_bytes())
    now = _now()
    report = TrainReport(
        evaluation,
        sources,
        model_id,
        save,
        activated=activate and save,
        reason=_reason(evaluation, activate, force),
        previous=active_id,
        forced=force,
        trained_at=now,
        languages=languages,
    )
    if save:
        payload = json.dumps(report.to_dict())
        rows = [(_LAST_TRAIN, model_id, len(texts), payload, b"")]
        if blob is not None:
            digests = io.BytesIO()
            np.savez_compressed(digests, digests=np.unique(_digests(texts)))
            rows += [
                (_MODEL_NAME, model_id, len(texts), payload, blob),
                (_DIGESTS, model_id, len(texts), "{}", digests.getvalue()),
            ]
        _save_rows(store, rows, now)
    return report


def _model_id(blob: bytes) -> str:
    return "domain-" + hashlib.sha256(blob).hexdigest()[:12]


def _digests(texts: Sequence[str]) -> np.ndarray:
    """A 64-bit digest of each text (to know which texts a model was trained on)."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ],
        dtype=np.uint64,
    )


def _save_rows(store: Store, rows: list[tuple[str, str, int, str, bytes]], now: Any) -> None:
    b = store.backend
    if MODELS_TABLE not in b.list_tables():
        b.create_table(MODELS_TABLE, schema=MODELS_SCHEMA)
    table = pa.table(
        {
            "name": [r[0] for r in rows],
            "model_id": [r[1] for r in rows],
            "created_at": pa.array([now] * len(rows), pa.timestamp("us")),
            "n_train": pa.array([r[2] for r in rows], pa.int64()),
            "evaluation": [r[3] for r in rows],
            "model": pa.array([r[4] for r in rows], pa.binary()),
        }
    )
    names = ", ".join(_lit(r[0]) for r in rows)
    b.raw_sql(f"DELETE FROM {MODELS_TABLE} WHERE name IN ({names})")
    b.insert(MODELS_TABLE, table)


def _model_rows(store: Store, name: str, columns: Sequence[str]) -> dict[str, Any] | None:
    b = store.backend
    if MODELS_TABLE not in b.list_tables():
        return None
    t = b.table(MODELS_TABLE)
    rows = t.filter(t.name == name).select(*columns).to_pyarrow()
    if not rows.num_rows:
        return None
    return {c: rows[c][0].as_py() for c in columns}


def _load_digests(store: Store) -> np.ndarray | None:
    row = _model_rows(store, _DIGESTS, ("model",))
    if row is None:
        return None
    try:
        with np.load(io.BytesIO(row["model"]), allow_pickle=False) as z:
            return np.asarray(z["digests"], dtype=np.uint64)
    except (OSError, ValueError, KeyError):
        return None


def load_store_model(store: Store) -> tuple[DomainSentiment, str] | None:
    """The active domain model kept in the store and its id, or ``None`` when none was learned."""
    row = _model_rows(store, _MODEL_NAME, ("model_id", "model"))
    if row is None:
        return None
    model = DomainSentiment.from_bytes(row["model"], name=f"{store.url} ({MODELS_TABLE})")
    return model, row["model_id"]


def model_info(store: Store) -> dict[str, Any]:
    """What scores the store's texts now, and what the last ``cxray text train`` measured.

    ``active``: ``kind`` (``domain`` or ``default``), ``model_id``,
    ``trained_at``, ``n_train``, ``languages`` and the ``evaluation`` that
    activated it (``None`` for the out-of-the-box scorer); ``last_training``:
    the report of the last training (activated or not), or ``None``.
    """
    row = _model_rows(store, _MODEL_NAME, ("model_id", "created_at", "n_train", "evaluation"))
    last = _model_rows(store, _LAST_TRAIN, ("evaluation",))
    if row is None:
        active: dict[str, Any] = {
            "kind": "default",
            "model_id": DEFAULT_MODEL_ID,
            "trained_at": None,
            "n_train": None,
            "languages": list(supported_languages(default_scorer())),
            "evaluation": None,
        }
    else:
        evaluation = json.loads(row["evaluation"] or "{}")
        active = {
            "kind": "domain",
            "model_id": row["model_id"],
            "trained_at": row["created_at"].isoformat() if row["created_at"] else None,
            "n_train": row["n_train"],
            "languages": evaluation.get("languages", []),
            "evaluation": evaluation,
        }
    return {"active": active, "last_training": json.loads(last["evaluation"]) if last else None}


# ---------------------------------------------------------------- enriching


@dataclass(frozen=True)
class FieldCounts:
    table: str
    field: str
    texts: int  # non-empty texts in the field
    scored: int  # new or changed, scored by this run
    removed: int  # scores of rows that no longer have this text


@dataclass(frozen=True)
class EnrichReport:
    """What one enrichment scored; ``languages``: texts scored now per language;
    ``gaps``: per language the scorer does not support, how many of them were left
    unscored (no score, no label) and what to do."""

    model: str
    fields: list[FieldCounts] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)
    gaps: list[LanguageGap] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(f.scored for f in self.fields)

    @property
    def unscored(self) -> int:
        return sum(g.n for g in self.gaps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scored": self.scored,
            "unscored": self.unscored,
            "fields": [f.__dict__ for f in self.fields],
            "languages": self.languages,
            "language_gaps": [g.to_dict() for g in self.gaps],
        }


def enrich_sentiment(
    store: Store,
    model: GeneralSentiment | LexiconSentiment | DomainSentiment | None = None,
    model_id: str = DEFAULT_MODEL_ID,
    *,
    tables: Sequence[str] | None = None,
    import_ids: Sequence[int] | None = None,
    batch_size: int = 50_000,
    progress: ProgressFn | None = None,
) -> EnrichReport:
    """Score every text field of the store into ``text_sentiment``; only what changed.

    A row is (re-)scored when it has no score yet, its text changed since it
    was scored, or it was scored by another model than ``model_id``. Scores of
    rows whose text is gone are removed.

    ``tables`` limits the work to those tables; ``import_ids`` to the rows that
    those imports added or changed (an import stamps its id on exactly those
    rows; unchanged rows keep theirs), which is what an import runs right after
    it commits. Each text is scored once per batch however often it repeats.
    """
    if store.read_only:
        raise ModelError(f"{store.url} is open read-only; enrichment writes scores to it")
    unknown = [t for t in tables or () if t not in TEXT_FIELDS]
    if unknown:
        raise ModelError(
            f"no text fields in {', '.join(map(repr, unknown))}; "
            f"tables with texts: {', '.join(TEXT_FIELDS)}"
        )
    model = model if model is not None else default_scorer()
    supported = set(supported_languages(model)) | {UNDETERMINED}
    languages: Counter[str] = Counter()
    b = store.backend
    ensure_sentiment_table(store)
    stage = f"_cx_{SENTIMENT_TABLE}_stage"
    scope = None if import_ids is None else sorted({int(i) for i in import_ids})
    plan = []
    total = 0
    for table, (key, fields) in TEXT_FIELDS.items():
        if tables is not None and table not in tables:
            continue
        for name in fields:
            todo = _pending(store, table, key, name, model_id, scope)
            n = todo.count().to_pyarrow().as_py()
            plan.append((table, key, name, todo, n))
            total += n
    done = 0
    counts = []
    if progress:
        progress("scoring texts", 0, total)
    for table, key, name, todo, n in plan:
        b.create_table(stage, schema=SENTIMENT_SCHEMA, overwrite=True)
        try:
            if n:
                # read every pending row before writing: a write on the same connection
                # ends a result still being streamed (DuckDB), which would drop batches
                for batch in list(_batches(todo, batch_size)):
                    labels, scores, langs = _score_distinct(model, batch.column("text"), supported)
                    languages.update(langs.tolist())
                    texts = batch.column("text")
                    b.insert(
                        stage,
                        pa.table(
                            {
                                "table_name": pa.array([table] * len(texts), pa.string()),
                                "row_key": batch.column("row_key"),
                                "field": pa.array([name] * len(texts), pa.string()),
                                "text_hash": batch.column("text_hash"),
                                "sentiment_score": pa.array(
                                    scores, pa.float64(), mask=np.isnan(scores)
                                ),
                                "sentiment_label": labels,
                                "model": pa.array([model_id] * len(texts), pa.string()),
                                "scored_at": pa.array([_now()] * len(texts), pa.timestamp("us")),
                                "language": pa.array(langs, pa.string()),
                            }
                        ),
                    )
                    done += len(texts)
                    if progress:
                        progress(f"scoring {table}.{name}", done, total)
            removed = _merge(store, stage, table, key, name, scope)
        finally:
            b.drop_table(stage, force=True)
        t = store.table(table)
        if scope is not None:
            t = t.filter(t._import_id.isin(scope))
        texts_n = t.filter(_has_text(t[name])).count().to_pyarrow().as_py()
        counts.append(FieldCounts(table, name, texts_n, n, removed))
    if progress:
        progress("done", total, total)
    codes = np.repeat(np.array(list(languages), dtype=object), list(languages.values()))
    gaps = language_gaps(codes, supported)
    return EnrichReport(model_id, counts, dict(languages.most_common()), gaps)


def ensure_sentiment_table(store: Store) -> None:
    """Create ``text_sentiment``, or add the ``language`` column to one of an older cxray
    (its rows then count as stale: the next enrichment scores them again, once)."""
    b = store.backend
    if SENTIMENT_TABLE not in b.list_tables():
        b.create_table(SENTIMENT_TABLE, schema=SENTIMENT_SCHEMA)
        return
    if "language" in b.table(SENTIMENT_TABLE).schema():
        return
    if store.read_only:
        return
    typ = "VARCHAR" if b.name == "duckdb" else "TEXT"
    b.raw_sql(f"ALTER TABLE {SENTIMENT_TABLE} ADD COLUMN language {typ}")


def store_language_gaps(store: Store, config: ProgramConfig | None = None) -> list[LanguageGap]:
    """Languages whose texts ``text_sentiment`` holds without a score because the scorer
    that ran does not support them, most texts first, each with what to do."""
    b = store.backend
    if SENTIMENT_TABLE not in b.list_tables():
        return []
    s = b.table(SENTIMENT_TABLE)
    if "language" not in s.schema():
        return []
    left = s.filter(
        s.sentiment_score.isnull() & s.language.notnull() & (s.language != UNDETERMINED)
    )
    rows = left.group_by("language").aggregate(n=left.count()).to_pyarrow()
    codes = np.repeat(np.array(rows["language"].to_pylist(), dtype=object), rows["n"].to_pylist())
    return language_gaps(codes, ())


def _batches(expr: ibis.Table, size: int) -> Any:
    import warnings

    with warnings.catch_warnings():  # Ibis 12 calls a DuckDB method DuckDB 1.5 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        reader = expr.to_pyarrow_batches(chunk_size=size)
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
        yield batch


def enrich_imported(
    store: Store, result: Any, config: ProgramConfig | None = None
) -> dict[str, Any] | None:
    """Score the texts an import just added or changed (``Workspace`` calls it after commit).

    With ``config``, their taxonomy themes are matched and stored too
    (:func:`cxray.text.assign_store_themes`; counts under ``"themes"``), and an
    import of more rows than ``[text] enrich_on_import_max_rows`` is left to
    ``cxray text enrich`` (``{"skipped": why}``).

    ``result`` is the import's :class:`cxray.store.WriteResult`. Nothing to do
    (a table without texts, a dry run, every row unchanged) gives ``None``.
    The scorer is the one ``cxray text enrich`` uses by default: the store's
    domain model when one was learned, else the out-of-the-box lexicon. The
    import has committed already; if scoring fails, ``cxray text enrich``
    catches up later (it scores whatever has no current score), and the error
    is reported here rather than raised, so the import is not mistaken for a
    failed one.
    """
    if (
        result.table not in TEXT_FIELDS
        or result.import_id is None
        or result.dry_run
        or result.added + result.updated == 0
        or store.read_only
    ):
        return None
    limit = config.text.enrich_on_import_max_rows if config is not None else 0
    rows = result.added + result.updated
    if limit and rows > limit:
        return {
            "skipped": f"{rows:,} rows added or changed, over [text] enrich_on_import_max_rows "
            f"= {limit:,}; run `cxray text enrich` to score them"
        }
    try:
        model, model_id = resolve_model(None, store)
        report = enrich_sentiment(
            store, model, model_id, tables=[result.table], import_ids=[result.import_id]
        ).to_dict()
        if config is not None:
            from cxray.text._stored import assign_store_themes

            themes = assign_store_themes(
                store, config, tables=[result.table], import_ids=[result.import_id]
            )
            report["themes"] = themes[result.table]
    except Exception as exc:  # the import stands; `cxray text enrich` catches up
        reason = str(exc).splitlines()[0] if isinstance(exc, CXError) else type(exc).__name__
        return {"error": f"texts not scored ({reason}); run `cxray text enrich`"}
    return report


def _score_distinct(
    model: GeneralSentiment | LexiconSentiment | DomainSentiment,
    texts: pa.ChunkedArray | pa.Array,
    supported: set[str] | None = None,
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Labels, scores and languages of ``texts``, each distinct text scored once.

    Texts in a language outside ``supported`` get no label and a NaN score.
    """
    import pyarrow.compute as pc

    distinct = pc.unique(texts)
    values = distinct.to_pylist()
    langs = np.asarray(detect_languages(values), dtype=object)
    ok = (
        np.ones(len(values), dtype=bool)
        if supported is None
        else np.isin(langs.astype(str), list(supported))
    )
    labels = np.full(len(values), None, dtype=object)
    scores = np.full(len(values), np.nan)
    if ok.any():
        keep = np.flatnonzero(ok)
        lab, sc = model.score_texts([values[i] for i in keep])
        labels[keep] = np.asarray(lab, dtype=object)
        scores[keep] = np.asarray(sc, dtype=float)
    if len(distinct) != len(texts):
        where = pc.index_in(texts, value_set=distinct).to_numpy(zero_copy_only=False)
        labels, scores, langs = labels[where], scores[where], langs[where]
    return pa.array(labels, pa.string()), scores, langs


@ibis.udf.scalar.builtin(name="md5")
def _md5_builtin(text: str) -> str:  # DuckDB, PostgreSQL and Spark all have md5()
    ...


def text_md5(col: ibis.Value) -> ibis.Value:
    """The MD5 hex digest of a text column, in the store (portable, unlike Ibis hexdigest)."""
    return _md5_builtin(col)


def _has_text(col: ibis.Value) -> ibis.Value:
    return col.notnull() & (col.strip().length() > 0)


def _pending(
    store: Store,
    table: str,
    key: str,
    name: str,
    model_id: str,
    scope: list[int] | None = None,
) -> ibis.Table:
    """Rows of ``table`` whose ``name`` text has no current score from ``model_id``."""
    t = store.table(table)
    if scope is not None:
        t = t.filter(t._import_id.isin(scope))
    cur = t.filter(_has_text(t[name])).select(
        row_key=t[key], text=t[name], text_hash=text_md5(t[name])
    )
    s = store.backend.table(SENTIMENT_TABLE)
    s = s.filter((s.table_name == table) & (s.field == name)).select(
        s_key=s.row_key, s_hash=s.text_hash, s_model=s.model, s_language=s.language
    )
    j = cur.left_join(s, cur.row_key == s.s_key)
    stale = (
        j.s_key.isnull()
        | (j.s_hash != j.text_hash)
        | (j.s_model != model_id)
        | j.s_language.isnull()
    )
    return j.filter(stale).select("row_key", "text", "text_hash").order_by("row_key")


def _merge(
    store: Store, stage: str, table: str, key: str, name: str, scope: list[int] | None = None
) -> int:
    """Replace the scores of staged rows; drop scores whose text is gone. Returns drops.

    With ``scope`` (import ids) only rows of those imports can lose their score:
    imports add and replace rows, they never delete any.
    """
    b = store.backend
    s = store.backend.table(SENTIMENT_TABLE)
    t = store.table(table)
    tn, fn = _lit(table), _lit(name)
    statements = [
        f"DELETE FROM {SENTIMENT_TABLE} WHERE table_name = {tn} AND field = {fn} AND "
        f"row_key IN (SELECT row_key FROM {stage})",
        f"INSERT INTO {SENTIMENT_TABLE} SELECT * FROM {stage}",
    ]
    if scope is not None:
        gone = t.filter(t._import_id.isin(scope) & ~_has_text(t[name])).select(k=t[key])
        mine = s.filter((s.table_name == table) & (s.field == name))
        removed = mine.filter(mine.row_key.isin(gone.k)).count().to_pyarrow().as_py()
        if removed:
            ids = ", ".join(str(i) for i in scope)
            statements.append(
                f"DELETE FROM {SENTIMENT_TABLE} WHERE table_name = {tn} AND field = {fn} AND "
                f"row_key IN (SELECT {key} FROM {table} WHERE _import_id IN ({ids}) AND "
                f"({name} IS NULL OR length(trim({name})) = 0))"
            )
        _in_transaction(b, statements)
        return int(removed)
    live = t.filter(_has_text(t[name])).select(k=t[key])
    mine = s.filter((s.table_name == table) & (s.field == name))
    removed = mine.filter(~mine.row_key.isin(live.k)).count().to_pyarrow().as_py()
    if removed:
        statements.append(
            f"DELETE FROM {SENTIMENT_TABLE} WHERE table_name = {tn} AND field = {fn} AND "
            f"row_key NOT IN (SELECT {key} FROM {table} WHERE {name} IS NOT NULL "
            f"AND length(trim({name})) > 0)"
        )
    _in_transaction(b, statements)
    return int(removed)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_transaction(b: Any, statements: list[str]) -> None:
    b.raw_sql("BEGIN TRANSACTION")
    try:
        for sql in statements:
            b.raw_sql(sql)
    except Exception:
        b.raw_sql("ROLLBACK")
        raise
    b.raw_sql("COMMIT")


# ---------------------------------------------------------------- choosing a model


