"""Themes in the store: what each table's texts talk about, and what it costs.

One *document* per row of a table: ``responses.comment``, ``mentions.text``,
``cases.subject`` + ``". "`` + ``cases.description``. Its themes come from the
taxonomy (:class:`~cxray.text.Taxonomy`, multi-label) or from discovery
(:func:`~cxray.text.discover_themes`, one theme per text). Per theme:

* **volume**: documents with the theme; **share**: volume / documents with text,
  with a Wilson interval;
* **sentiment**: mean sentiment score (−1..1) of its documents with a Student t
  interval, and the share of them that are negative;
* **trend**: volume and share per month (in the program's time zone), and the
  change of share from the month before the last to the last month with texts
  (two-proportion z test, Benjamini–Hochberg across themes);
* **impact** (responses only): how far NPS (and CSAT) would move without the
  theme's negative mentions (see :func:`nps_impact`).

**Aspect sentiment** (:mod:`cxray.text._aspects`): the mean sentiment of the clauses
that speak of the theme ("great staff but a dirty room": staff +, cleanliness −), per
text, then over texts with a Student t interval; with the share of texts negative about
the theme. It is reported next to the whole-text ``sentiment`` (kept as it was) as
``aspect_sentiment`` and ``aspect_negative_share``; above 20,000 themed texts a seeded
sample of them is split and scored.

Quotes: discovered themes show their central, readable exemplars
(:func:`cxray.text.discover_themes`); taxonomy themes readable texts (8 to 60 words, not
in capitals, mostly words) with that theme alone first, most negative first.

Sentiment comes from the ``text_sentiment`` table where ``cxray text enrich``
scored the current text (a case's score is the mean of its subject and
description); any document not scored yet is scored on the fly with the same
model choice as ``enrich``. Labels: the stored label for one-field documents;
for cases the label of the mean score (≥ 0.05 positive, ≤ −0.05 negative).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxray import stats
from cxray.config import ProgramConfig
from cxray.exceptions import ModelError
from cxray.store import Store
from cxray.text._aspects import aspect_sentiment, terms_taxonomy
from cxray.text._discover import discover_themes, readable
from cxray.text._enrich import SENTIMENT_TABLE, TEXT_FIELDS, resolve_model, text_md5
from cxray.text._redact import redactor
from cxray.text._stored import stored_themes, themes_matrix
from cxray.text._taxonomy import Taxonomy

__all__ = [
    "TIME_COLUMNS",
    "Documents",
    "ThemeStats",
    "ThemesReport",
    "csat_impact",
    "load_documents",
    "nps_impact",
    "theme_report",
    "themes_with_documents",
]

ProgressFn = Callable[[str, int, int], None]
Source = Literal["taxonomy", "discover"]

#: when each text was written
TIME_COLUMNS = {"responses": "submitted_at", "cases": "opened_at", "mentions": "posted_at"}
_EXTRA = {"responses": ("nps", "csat"), "cases": ("category",), "mentions": ("rating",)}


@dataclass
class Documents:
    """The texts of one table, one per row that has any, with what analyses need."""

    table: str
    keys: list[str]
    texts: list[str]
    local_time: pd.Series  # tz-aware, in the program's time zone
    score: np.ndarray  # sentiment score, -1..1
    label: np.ndarray  # negative / neutral / positive
    extra: pd.DataFrame  # nps, csat (responses); category (cases); rating (mentions)

    def __len__(self) -> int:
        return len(self.keys)

    @functools.cached_property
    def key_array(self) -> Any:
        """The keys as an Arrow string array (for hash lookups by key)."""
        import pyarrow as pa

        return pa.array(self.keys, pa.string())

    @functools.cached_property
    def month(self) -> np.ndarray:
        """Each text's month in the program's time zone, ``"YYYY-MM"`` (None when its time
        is missing). In NumPy: formatting a million times with pandas takes seconds."""
        local = self.local_time.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        out = np.datetime_as_string(local.astype("datetime64[M]"), unit="M").astype(object)
        out[np.isnat(local)] = None
        return out


def _columns(store: Store, table: str) -> set[str]:
    return set(store.table(table).columns)


def load_documents(store: Store, config: ProgramConfig, table: str) -> Documents:
    """Every non-empty text of ``table`` with its time, sentiment and scores."""
    if table not in TEXT_FIELDS:
        raise ModelError(f"no texts in {table!r}; choose one of {', '.join(TEXT_FIELDS)}")
    key, fields = TEXT_FIELDS[table]
    t = store.table(table)
    have = _columns(store, table)
    extra = [c for c in _EXTRA[table] if c in have]
    import pyarrow as pa
    import pyarrow.compute as pc

    # strings are combined, filtered and sorted in Arrow (pandas string methods on a
    # million texts cost seconds)
    data = t.select(key, TIME_COLUMNS[table], *fields, *extra).to_pyarrow()
    parts = [pc.utf8_trim_whitespace(pc.fill_null(data[f].cast(pa.string()), "")) for f in fields]
    text = parts[0]
    if len(parts) > 1:
        text = pc.utf8_trim(pc.binary_join_element_wise(*parts, ". "), characters=". ")
    keep = pc.greater(pc.utf8_length(text), 0)
    data, text = data.filter(keep), text.filter(keep)
    keys_arr = data[key].cast(pa.string())
    order = pc.sort_indices(keys_arr)
    data, text, keys_arr = data.take(order), text.take(order), keys_arr.take(order)
    keys = keys_arr.to_pylist()
    df = data.select([TIME_COLUMNS[table], *extra]).to_pandas()
    when = pd.to_datetime(df[TIME_COLUMNS[table]])
    if when.dt.tz is None:
        when = when.dt.tz_localize("UTC")
    when = when.dt.tz_convert(config.program.timezone)
    text = pd.Series(text.to_pylist(), dtype=object)
    if isinstance(keys_arr, pa.ChunkedArray):
        keys_arr = keys_arr.combine_chunks()
    score, label = _sentiment(store, table, key, fields, keys_arr, text.tolist())
    docs = Documents(
        table, keys, text.tolist(), when, score, label, df[extra].reset_index(drop=True)
    )
    docs.key_array = keys_arr  # read once from the store: no second conversion
    return docs


def _sentiment(
    store: Store, table: str, key: str, fields: tuple[str, ...], keys: Any, texts: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's stored sentiment (score, label), scored now where none is stored;
    ``keys``: the documents' keys as an Arrow string array."""
    n = len(keys)
    score = np.full(n, np.nan)
    label = np.empty(n, dtype=object)
    b = store.backend
    if n and SENTIMENT_TABLE in b.list_tables():
        import pyarrow.compute as pc

        t = store.table(table)
        s = b.table(SENTIMENT_TABLE)
        parts = []
        for name in fields:
            cur = t.filter(t[name].notnull()).select(k=t[key].cast("string"), h=text_md5(t[name]))
            mine = s.filter((s.table_name == table) & (s.field == name))
            j = cur.join(mine, (cur.k == mine.row_key) & (cur.h == mine.text_hash))
            parts.append(j.select("k", "sentiment_score", "sentiment_label"))
        got = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
        # averaged where the data lives; placed by an Arrow hash lookup (a million keys as
        # pandas strings cost seconds of the interpreter's time)
        agg = (
            got.group_by("k")
            .aggregate(s=got.sentiment_score.mean(), lab=got.sentiment_label.max())
            .to_pyarrow()
        )
        if agg.num_rows:
            found = pc.index_in(agg["k"], value_set=keys)
            ok = pc.is_valid(found)
            idx = found.filter(ok).to_numpy(zero_copy_only=False).astype(np.int64)
            mean = agg["s"].filter(ok).to_numpy(zero_copy_only=False).astype(float)
            score[idx] = mean
            if len(fields) == 1:
                label[idx] = np.asarray(agg["lab"].filter(ok).to_pylist(), dtype=object)
            else:  # a text of two fields: the label of its mean score
                label[idx] = _label_of(mean)
    todo = np.flatnonzero(np.isnan(score))
    if todo.size:
        model, _ = resolve_model(None, store)
        labs, scs = model.score_texts([texts[i] for i in todo])
        score[todo] = scs
        label[todo] = labs if len(fields) == 1 else _label_of(np.asarray(scs))
    return score, label


def _label_of(score: np.ndarray) -> np.ndarray:
    return np.where(score >= 0.05, "positive", np.where(score <= -0.05, "negative", "neutral"))


# ---------------------------------------------------------------- impact


def _nps_impact_stat(counts: np.ndarray) -> Any:
    """From counts of (promoters, passives, detractors, flagged detractors), last axis."""
    pro, det, flag = counts[..., 0], counts[..., 2], counts[..., 3]
    n = counts.sum(-1)
    base = (pro - det - flag) / n
    rest = np.maximum(n - flag, 1)
    return 100.0 * ((pro - det) / rest - base)


def _csat_impact_stat(counts: np.ndarray) -> Any:
    """From counts of (top box, other, flagged other), last axis."""
    top, flag = counts[..., 0], counts[..., 2]
    n = counts.sum(-1)
    return 100.0 * (top / np.maximum(n - flag, 1) - top / n)


def _count_bootstrap(
    codes: np.ndarray,
    k: int,
    statistic: Callable[[np.ndarray], Any],
    *,
    n_resamples: int,
    confidence: float,
    random_state: int,
    min_n: int,
    metric: str,
) -> stats.Estimate:
    """Percentile bootstrap of a statistic of category counts.

    Resampling n values with replacement from values in ``k`` categories is
    drawing their counts from a multinomial(n, observed shares), so each
    resample costs O(k) rather than O(n): the same bootstrap distribution as
    :func:`cxray.stats.bootstrap`, fast on a million responses.
    """
    n = int(codes.size)
    if n == 0:
        return stats.bootstrap(codes, n_resamples=n_resamples, min_n=min_n, metric=metric)
    counts = np.bincount(codes.astype(np.int64), minlength=k).astype(float)
    rng = np.random.default_rng(random_state)
    draws = rng.multinomial(n, counts / n, size=n_resamples).astype(float)
    replicates = statistic(draws)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    reason = "no responses" if n == 0 else (f"n={n} < {min_n}" if n < min_n else None)
    if reason is not None and n < min_n:
        reason += "; widen the period or merge segments"
    return stats.Estimate(
        float(statistic(counts)),
        float(low),
        float(high),
        n,
        f"percentile bootstrap of category counts ({n_resamples} resamples)",
        confidence,
        metric=metric,
        suppressed=reason is not None,
        reason=reason,
    )


def nps_impact(
    nps: np.ndarray,
    negative_mention: np.ndarray,
    *,
    confidence: float = 0.95,
    min_n: int = 30,
    n_resamples: int = 1000,
    random_state: int = 0,
) -> stats.Estimate:
    """NPS points gained if detractors who mention the theme negatively had not answered.

    Over the responses with an NPS answer: ``NPS_without − NPS``, where ``NPS``
    counts every response and ``NPS_without`` drops the detractors (0–6) whose
    comment has the theme *and* a negative sentiment label. Zero when there
    are none; never negative. Percentile bootstrap interval over responses
    (seeded; resampled as category counts, see :func:`_count_bootstrap`).
    """
    nps = np.asarray(nps, dtype=float)
    flag = np.asarray(negative_mention, dtype=bool)
    ok = ~np.isnan(nps)
    nps, flag = nps[ok], flag[ok]
    codes = np.where(nps >= 9, 0, np.where(nps >= 7, 1, np.where(flag, 3, 2)))
    est = _count_bootstrap(
        codes,
        4,
        _nps_impact_stat,
        n_resamples=n_resamples,
        confidence=confidence,
        random_state=random_state,
        min_n=min_n,
        metric="NPS impact",
    )
    return _with(est, unit="points", definition=nps_impact.__doc__.split("\n")[0])


def csat_impact(
    csat: np.ndarray,
    negative_mention: np.ndarray,
    *,
    top_box: tuple[int, int],
    confidence: float = 0.95,
    min_n: int = 30,
    n_resamples: int = 1000,
    random_state: int = 0,
) -> stats.Estimate:
    """CSAT (% top box) points gained without the theme's negative, not-top-box answers.

    Like :func:`nps_impact`: drops the answers outside the top box whose
    comment has the theme with a negative label, and recomputes the top-box %.
    """
    csat = np.asarray(csat, dtype=float)
    flag = np.asarray(negative_mention, dtype=bool)
    ok = ~np.isnan(csat)
    csat, flag = csat[ok], flag[ok]
    top = (csat >= top_box[0]) & (csat <= top_box[1])
    codes = np.where(top, 0, np.where(flag, 2, 1))
    est = _count_bootstrap(
        codes,
        3,
        _csat_impact_stat,
        n_resamples=n_resamples,
        confidence=confidence,
        random_state=random_state,
        min_n=min_n,
        metric="CSAT impact",
    )
    return _with(est, unit="points", definition=csat_impact.__doc__.split("\n")[0])


def _with(est: stats.Estimate, **labels: Any) -> stats.Estimate:
    from dataclasses import replace

    return replace(est, **labels)


# ---------------------------------------------------------------- the report


@dataclass
class ThemeStats:
    id: str
    label: str
    terms: tuple[str, ...]
    volume: int
    share: stats.Estimate
    sentiment: stats.Estimate
    negative: stats.Estimate
    months: list[dict[str, Any]]
    change: stats.Comparison | None
    change_q: float | None
    impact_nps: stats.Estimate | None
    impact_csat: stats.Estimate | None
    quotes: list[str]
    #: mean clause-level sentiment about the theme (see the module docstring)
    aspect_sentiment: stats.Estimate | None = None
    #: share of the theme's texts negative about it at the clause level
    aspect_negative: stats.Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        def est(e: stats.Estimate | None) -> dict[str, Any] | None:
            return None if e is None else e.to_dict()

        return {
            "id": self.id,
            "label": self.label,
            "terms": list(self.terms),
            "volume": self.volume,
            "share": est(self.share),
            "sentiment": est(self.sentiment),
            "negative_share": est(self.negative),
            "aspect_sentiment": est(self.aspect_sentiment),
            "aspect_negative_share": est(self.aspect_negative),
            "trend": {
                "months": self.months,
                "change": est(self.change),
                "q_value": self.change_q,
            },
            "impact": {"nps": est(self.impact_nps), "csat": est(self.impact_csat)},
            "quotes": self.quotes,
        }


@dataclass
class ThemesReport:
    source: str
    table: str
    n_texts: int
    unthemed: int
    themes: list[ThemeStats] = field(default_factory=list)
    unmatched_examples: dict[str, list[str]] = field(default_factory=dict)
    seed: int | None = None
    #: theme ids in the order of the columns of the document x theme matrix
    theme_order: list[str] = field(default_factory=list)
    #: how discovered themes were found (``nmf`` or ``embeddings``); None for the taxonomy
    method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "table": self.table,
            "n_texts": self.n_texts,
            "unthemed": self.unthemed,
            "seed": self.seed,
            "method": self.method,
            "unmatched_examples": self.unmatched_examples,
            "themes": [t.to_dict() for t in self.themes],
        }


#: ``method="auto"`` embeds the texts when at least this share of those with a language is
#: English (the packaged sentence model is English; NMF works in any language)
AUTO_ENGLISH = 0.8
#: texts whose language ``method="auto"`` looks at (spread over all of them)
AUTO_SAMPLE = 500


def discovery_method(texts: list[str], method: str = "auto") -> str:
    """The discovery method ``method`` stands for: ``"auto"`` is sentence embeddings when
    ``cxray[text]`` is installed and the texts are mostly English (they found themes closer
    to annotated intents than NMF did: docs/text-analytics.md), else NMF."""
    if method != "auto":
        return method
    from cxray.text._embed import embeddings_available

    if not texts or not embeddings_available():
        return "nmf"
    from cxray.text._language import UNDETERMINED, detect_languages

    step = max(1, len(texts) // AUTO_SAMPLE)
    langs = [str(c) for c in detect_languages(texts[::step][:AUTO_SAMPLE])]
    known = [c for c in langs if c != UNDETERMINED]
    english = sum(c == "en" for c in known)
    return "embeddings" if known and english >= AUTO_ENGLISH * len(known) else "nmf"


def theme_report(
    store: Store,
    config: ProgramConfig,
    *,
    source: Source = "taxonomy",
    table: str = "responses",
    n_themes: int = 8,
    seed: int = 0,
    n_quotes: int = 3,
    method: str = "auto",
    progress: ProgressFn | None = None,
) -> ThemesReport:
    """Themes of one table's texts, each with volume, share, sentiment, trend and impact."""
    report, _, _ = themes_with_documents(
        store,
        config,
        source=source,
        table=table,
        n_themes=n_themes,
        seed=seed,
        n_quotes=n_quotes,
        method=method,
        progress=progress,
    )
    return report


def themes_with_documents(
    store: Store,
    config: ProgramConfig,
    *,
    source: Source = "taxonomy",
    table: str = "responses",
    n_themes: int = 8,
    seed: int = 0,
    n_quotes: int = 3,
    method: str = "auto",
    progress: ProgressFn | None = None,
) -> tuple[ThemesReport, Documents, np.ndarray]:
    """:func:`theme_report`, plus its documents and their themes (document x theme, in the
    order of ``meta``/``report.themes`` before sorting: see ``report.theme_order``)."""
    step = _stepper(progress, 4)
    step("reading texts")
    docs = load_documents(store, config, table)
    step("assigning themes")
    unmatched: dict[str, list[str]] = {}
    if source == "taxonomy":
        tx = Taxonomy.from_config(config)
        assigned = _taxonomy_assigned(store, config, docs, tx)
        meta = [(t.id, t.label, t.keywords, None) for t in tx.themes]
        unmatched = tx.unmatched_examples()
        clause_tx = tx
    elif source == "discover":
        method = discovery_method(docs.texts, method)
        if method == "embeddings":  # the cxray[text] extra
            from cxray.text._embed import discover_embedded_themes

            found, tuples = discover_embedded_themes(
                docs.texts, n_themes=n_themes, random_state=seed
            )
        elif method == "nmf":
            found, tuples = discover_themes(
                docs.texts,
                n_themes=n_themes,
                random_state=seed,
                groups=_authors(store, table, docs.keys),
            )
        else:
            raise ModelError(f"unknown discovery method {method!r}; use auto, nmf or embeddings")
        assigned = ["|" + "|".join(a) + "|" if a else "||" for a in tuples]
        meta = [(t.id, t.label, t.terms, t.exemplars) for t in found]
        clause_tx = terms_taxonomy([(t.id, t.terms) for t in found])
    else:
        raise ModelError(f"unknown theme source {source!r}; use taxonomy or discover")
    step("measuring themes")
    matrix = themes_matrix(assigned, [m[0] for m in meta])
    out = _measure(docs, config, matrix, meta, seed=seed, n_quotes=n_quotes)
    if len(docs) and matrix.any():
        scorer, _ = resolve_model(None, store)
        m = config.measurement
        aspects = aspect_sentiment(
            docs.texts,
            matrix,
            clause_tx,
            scorer,
            whole_score=docs.score,
            confidence=m.confidence,
            min_n=m.min_n,
            random_state=seed,
        )
        by_id = {a.theme: a for a in aspects}
        for r in out:
            a = by_id.get(r.id)
            if a is not None:
                r.aspect_sentiment, r.aspect_negative = a.sentiment, a.negative
    step("done")
    report = ThemesReport(
        source,
        table,
        len(docs),
        int((~matrix.any(axis=1)).sum()) if len(docs) else 0,
        out,
        unmatched,
        seed if source == "discover" else None,
    )
    report.theme_order = [m[0] for m in meta]
    report.method = method if source == "discover" else None
    return report, docs, matrix


#: who wrote each document: discovery leaves out terms mostly one of them uses
AUTHOR_COLUMNS = {"mentions": "author", "responses": "customer_id", "cases": "customer_id"}


def _authors(store: Store, table: str, keys: list[str]) -> list[Any] | None:
    """The author of each document (in ``keys`` order), or None without the column."""
    col = AUTHOR_COLUMNS.get(table)
    if not keys or col is None or col not in _columns(store, table):
        return None
    key, _ = TEXT_FIELDS[table]
    t = store.table(table)
    df = t.select(k=t[key].cast("string"), g=t[col].cast("string")).to_pandas()
    got = pd.Series(df["g"].to_numpy(dtype=object), index=df["k"].to_numpy(dtype=object))
    got = got[~got.index.duplicated()]
    return got.reindex(keys).tolist()


def _taxonomy_assigned(
    store: Store, config: ProgramConfig, docs: Documents, tx: Taxonomy
) -> list[str]:
    """``|id|...|`` per document: stored assignments where current, the rest matched now."""
    values = np.full(len(docs), None, dtype=object)
    stored = stored_themes(store, config, docs.table, arrow=True) if len(docs) else None
    if stored is not None and stored.num_rows:
        import pyarrow.compute as pc

        # each document's row among the stored ones (the first where a key repeats)
        at = pc.index_in(docs.key_array, value_set=stored["k"])
        ok = pc.is_valid(at)
        rows = np.flatnonzero(ok.to_numpy(zero_copy_only=False))
        picked = stored["themes"].take(at.filter(ok))
        values[rows] = np.asarray(picked.to_pylist(), dtype=object)
    todo = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if todo:
        fresh = tx.assign([docs.texts[i] for i in todo])
        for i, ids in zip(todo, fresh, strict=True):
            values[i] = "|" + "|".join(ids) + "|" if ids else "||"
    return values.tolist()


def _stepper(progress: ProgressFn | None, total: int) -> Callable[[str], None]:
    done = [0]

    def step(what: str) -> None:
        if progress:
            progress(what, done[0], total)
        done[0] = min(done[0] + 1, total)

    return step


def _measure(
    docs: Documents,
    config: ProgramConfig,
    matrix: np.ndarray,
    meta: list[tuple[str, str, tuple[str, ...], tuple[int, ...] | None]],
    *,
    seed: int,
    n_quotes: int,
) -> list[ThemeStats]:
    m = config.measurement
    opts = {"confidence": m.confidence, "min_n": m.min_n}
    n = len(docs)
    months = docs.month if n else np.array([], dtype=object)
    # months as codes counted with bincount (a million strings per theme cost seconds)
    month_code, uniq = pd.factorize(months, sort=True)
    all_months = [str(m) for m in uniq]
    dated = month_code >= 0
    per_month = np.bincount(month_code[dated], minlength=len(all_months))
    negative = docs.label == "negative"
    results: list[ThemeStats] = []
    p_values: list[float] = []
    n_themes_of = matrix.sum(axis=1)
    for j, (tid, label, terms, exemplars) in enumerate(meta):
        has = matrix[:, j]
        k = int(has.sum())
        share = stats.proportion(k, n, **opts)
        sc = docs.score[has]
        senti = stats.mean(k, float(sc.sum()), float((sc * sc).sum()), **opts)
        neg = stats.proportion(int((negative & has).sum()), k, **opts)
        mine = np.bincount(month_code[has & dated], minlength=len(all_months))
        series = [
            {
                "month": mo,
                "volume": int(mine[i]),
                "texts": int(per_month[i]),
                "share": (mine[i] / per_month[i]) if per_month[i] else None,
            }
            for i, mo in enumerate(all_months)
        ]
        change = None
        if len(all_months) >= 2:
            a, b = series[-1], series[-2]
            change = stats.proportion_diff(
                (a["volume"], a["texts"]), (b["volume"], b["texts"]), **opts
            )
            if change.p_value is not None and np.isfinite(change.p_value):
                p_values.append(change.p_value)
        impact_nps = impact_csat = None
        if docs.table == "responses":
            flag = has & negative
            if "nps" in docs.extra:
                impact_nps = nps_impact(
                    docs.extra["nps"].to_numpy(dtype=float), flag, random_state=seed, **opts
                )
            if "csat" in docs.extra:
                impact_csat = csat_impact(
                    docs.extra["csat"].to_numpy(dtype=float),
                    flag,
                    top_box=config.scales.csat.top_box_values(),
                    random_state=seed,
                    **opts,
                )
        quotes = _quotes(docs, has, n_themes_of, exemplars, n_quotes, redactor(config))
        results.append(
            ThemeStats(
                tid,
                label,
                tuple(terms),
                k,
                share,
                senti,
                neg,
                series,
                change,
                None,
                impact_nps,
                impact_csat,
                quotes,
            )
        )
    # BH across the themes whose change could be tested
    tested = [r for r in results if r.change is not None and np.isfinite(r.change.p_value)]
    if tested:
        fdr = stats.benjamini_hochberg([r.change.p_value for r in tested], alpha=m.fdr)
        for r, q in zip(tested, fdr.q_values, strict=True):
            r.change_q = float(q)
    results.sort(key=lambda r: (-r.volume, r.id))
    return results


def _quotes(
    docs: Documents,
    has: np.ndarray,
    n_themes_of: np.ndarray,
    exemplars: tuple[int, ...] | None,
    n_quotes: int,
    redact: Callable[[str | None], str | None],
) -> list[str]:
    """Representative texts (redacted unless configured off): discovery's exemplars, else
    readable texts first (8 to 60 words, not in capitals, mostly words), those with this
    theme alone first, most negative first (ties by key), without repeats."""
    if exemplars is not None:
        picks = list(exemplars)
    else:
        idx = np.flatnonzero(has)
        single = n_themes_of[idx] == 1
        ranked = idx[np.lexsort((idx, docs.score[idx], ~single))].tolist()
        head = ranked[:2_000]  # readability checked on the best-ranked only, as needed
        picks = itertools.chain((i for i in head if readable(docs.texts[i])), ranked)
    out: list[str] = []
    for i in picks:
        q = redact(docs.texts[i])
        if q not in out:
            out.append(q)
        if len(out) >= n_quotes:
            break
    return out
