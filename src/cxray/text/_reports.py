"""Text reports for interfaces: computed once per state of the data, then served from memory.

A theme report over a million comments reads every text, its sentiment and its
stored themes and measures each theme (a few seconds); a dashboard page or an
API call should not pay that on every view. :class:`TextReports` keeps the
latest reports (and, for theme drill-downs, the documents behind them) keyed by
everything they depend on:

* the store and the program config (taxonomy, measurement, time zone, privacy);
* the options (source, table, number of themes, seed; period and baseline);
* the **data version**: the table's last import id, and the count and latest time
  of the table's rows in ``text_sentiment`` and ``text_themes``, so an import into
  the table, ``cxray text enrich`` or a new domain model (which re-scores) makes a
  fresh report (an import into another table does not).

One process-wide instance, :data:`REPORTS`, serves the REST API and the
dashboard, so a page and the API answer the same numbers from one computation.

What the Text page shows first (each table's taxonomy themes and the weekly case
trends, under the store's own config) is also **kept in the store**, in the
internal table ``_cx_text_reports``, with the data version it was computed at:
:meth:`TextReports.precompute` runs after ``cxray text enrich`` and in the
background of ``cxray serve`` (at start and after every import), so a fresh
server answers the first page from the kept report at once. A kept report is
served only while its data version is the current one. Reports made for a reader who
sees personal data (texts as written) are kept there too once a page computed them, under
a key that says ``unmasked:``; an erasure or a retention purge deletes every kept report,
masked and unmasked alike (``cxray.privacy``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from cxray.config import ProgramConfig
from cxray.exceptions import NotFoundError, QueryError
from cxray.store import IMPORT_LOG, Store
from cxray.text._enrich import SENTIMENT_TABLE, TEXT_FIELDS, resolve_model
from cxray.text._redact import redactor
from cxray.text._stored import THEMES_TABLE
from cxray.text._themes import TIME_COLUMNS, Documents, themes_with_documents
from cxray.text._trends import case_trends

__all__ = ["KEPT_TABLE", "REPORTS", "TextReports", "score_texts"]

#: the tables whose texts a language summary covers when none is named
_ALL = "all"

#: config sections no text report reads: when texts are scored (``[text]``: scores are in
#: the data version), how files are imported, the loop and the surveys
_NOT_IN_REPORTS = ("text", "sources", "imports", "loop", "surveys")

#: at most this many texts in one call of :func:`score_texts`
MAX_TEXTS = 10_000
#: the reports kept in the store: one row per report (its options), the latest data version
KEPT_TABLE = "_cx_text_reports"
_KEPT_SCHEMA = pa.schema(
    [
        ("report_key", pa.string()),
        ("data_version", pa.string()),
        ("computed_at", pa.timestamp("us")),
        ("body", pa.string()),
    ]
)


@dataclass
class _Themes:
    report: dict[str, Any]
    docs: Documents
    matrix: np.ndarray
    order: list[str]


class TextReports:
    """Theme reports, theme drill-downs and case trends, kept until the data changes."""

    def __init__(self, size: int = 16):
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        #: (key, version) of reports marked to be kept (:meth:`save`), not yet in the store
        self._unsaved: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # when each unsaved report's computation started (UTC): one that started before an
        # erasure or a retention purge may quote removed text and is never written
        self._started: dict[tuple[Any, ...], dt.datetime] = {}
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        #: set by a server that computes new reports in the background (``cxray serve``)
        self.background = False
        #: the reports the background computation covers (:meth:`precompute` asked for
        #: them): only these are answered from an older computation while it runs
        self._warm_keys: set[tuple[Any, ...]] = set()
        self._local = threading.local()

    # ------------------------------------------------------------ keys

    def data_version(self, store: Store, table: str) -> tuple[Any, ...]:
        """The state of ``table``'s texts a report of it depends on: the table's latest
        import, and the count (and latest score time) of its rows in ``text_sentiment``
        and ``text_themes``. Within one request (:meth:`ready_first`) every table's is read
        once, by three grouped queries, and reused by all the reports of that page."""
        memo = getattr(self._local, "versions", None)
        if memo is None:
            return _data_versions(store)(table)
        if store.url not in memo:
            memo[store.url] = _data_versions(store)
        return memo[store.url](table)

    @staticmethod
    def _config_key(config: ProgramConfig) -> str:
        """The config a report depends on, as a digest: all of it but the sections that say
        when and how data arrives or what the loop does (``_NOT_IN_REPORTS``), so that a
        store enriched under a config that turned scoring on import off, or a changed
        import limit, still serves the reports it keeps."""
        kept = config.model_dump(mode="json", exclude=set(_NOT_IN_REPORTS))
        digest = hashlib.sha1(json.dumps(kept, sort_keys=True).encode("utf-8")).hexdigest()
        # a report that quotes texts as written says so in its key (and its kept row's)
        return f"{'masked' if config.privacy.redact else 'unmasked'}:{digest}"

    def _get(
        self,
        key: tuple[Any, ...],
        version: tuple[Any, ...],
        make: Any,
        *,
        store: Store | None = None,
        keep: bool = False,
    ) -> Any:
        """The value kept for ``key`` at this data ``version``, else ``make()``'s.

        One value per key: a newer version replaces the older one at once, so a
        report over a million texts is never held twice. With ``store``, a report
        kept there at this version is read before anything is computed; with
        ``keep`` too, one computed here is marked to be written there by
        :meth:`save` (the store's own config, or its unmasked copy).
        """
        with self._lock:
            self._note_warm(key)
            held = self._items.get(key)
            if held is not None and held[0] == version:
                self._items.move_to_end(key)
                return held[1]
        older = self._older(key, version, held, store)
        if older is not None:
            return older
        with self._lock:
            # one computation per report: a page asked for while the server computes it in
            # the background waits for that instead of computing it a second time
            gate = self._computing.setdefault((key, version), threading.Lock())
        with gate:
            with self._lock:
                held = self._items.get(key)
                if held is not None and held[0] == version:
                    return held[1]
            try:
                kept = _read_kept(store, key, version) if store is not None else None
                value = kept[1] if kept is not None else None
                computed = value is None
                started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                if computed:
                    value = make()
                with self._lock:
                    self._items[key] = (version, value)
                    self._items.move_to_end(key)
                    while len(self._items) > self.size:
                        self._items.popitem(last=False)
                    if computed and keep:
                        self._unsaved[key] = version
                        self._started[key] = started
                        mine = getattr(self._local, "computed", None)
                        if mine is not None:
                            mine.append(key)
            finally:
                with self._lock:
                    self._computing.pop((key, version), None)
        return value

    def _note_warm(self, key: tuple[Any, ...]) -> None:
        """Within :meth:`precompute`, note ``key`` as one the background covers (under
        ``self._lock``)."""
        if getattr(self._local, "warming", False):
            self._warm_keys.add(key)

    @contextlib.contextmanager
    def ready_first(self) -> Iterator[list[tuple[Any, ...]]]:
        """Within this block (one request of a page), a report whose data grew since it was
        last computed is answered at once from that older computation, marked
        ``"stale": True``, while the server computes the new one in the background
        (:attr:`background`); the list yielded collects the keys so answered.

        Only when the data grew (more rows, a later import): after an erasure or a purge
        (fewer rows) the report is computed anew, so that no removed text is shown.
        Without a background computation, nothing changes.
        """
        self._local.stale = []
        self._local.versions = {}  # data versions, read once for the request
        self._local.computed = []  # reports this request computed to be kept
        try:
            yield self._local.stale
        finally:
            self._local.stale = None
            self._local.versions = None
            self._local.computed = None

    def computed_here(self) -> bool:
        """Whether this request (within :meth:`ready_first`) computed a report to be kept:
        only then has it something for :meth:`save` (what the background computed, it
        saves itself)."""
        return bool(getattr(self._local, "computed", None))

    def _older(
        self,
        key: tuple[Any, ...],
        version: tuple[Any, ...],
        held: Any,
        store: Store | None,
    ) -> Any:
        """The older report of ``key`` to answer with while a newer one is computed, or None."""
        stale = getattr(self._local, "stale", None)
        # a report the background does not compute (discovered themes, a reader's texts as
        # written) would stay old: it is computed for the view instead
        if stale is None or not self.background or key not in self._warm_keys:
            return None
        old = held
        if old is None and store is not None:
            old = _read_kept(store, key, None)
        if old is None or not isinstance(old[1], dict) or not _grew(old[0], version):
            return None
        stale.append(key)
        return {**old[1], "stale": True}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._unsaved.clear()
            self._warm_keys.clear()

    # ------------------------------------------------------------ kept in the store

    def save(self, store: Store) -> int:
        """Write the reports marked ``keep`` (under ``store``'s own config, or its unmasked
        copy for readers with ``pii``) since the last save into its ``_cx_text_reports``
        table (each replacing its older version); how many.

        Separate from computing so that a server can compute through a read snapshot and
        write under its write lock. A read-only store writes nothing.
        """
        if store.read_only:
            return 0
        with self._lock:
            todo = [
                (k, v, self._items[k][1])
                for k, v in self._unsaved.items()
                if k[1] == store.url and k in self._items and self._items[k][0] == v
            ]
        if not todo:
            return 0
        removed = _last_removal(store)
        if removed is not None:
            with self._lock:
                # the erasure's time is taken before its transaction commits: a computation
                # that started within _REMOVAL_MARGIN after it may have read the old texts
                cutoff = removed + _REMOVAL_MARGIN
                late = [k for k, v, _ in todo if self._started.get(k, cutoff) <= cutoff]
                for k in late:  # computed from texts that are gone since: never written
                    self._unsaved.pop(k, None)
                    self._started.pop(k, None)
            todo = [item for item in todo if item[0] not in late]
            if not todo:
                return 0
        b = store.backend
        if KEPT_TABLE not in b.list_tables():
            b.create_table(KEPT_TABLE, schema=_KEPT_SCHEMA)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows = pa.table(
            {
                "report_key": [_kept_id(k) for k, _, _ in todo],
                "data_version": [_version_text(v) for _, v, _ in todo],
                "computed_at": pa.array([now] * len(todo), pa.timestamp("us")),
                "body": [json.dumps(value, separators=(",", ":")) for _, _, value in todo],
            },
            schema=_KEPT_SCHEMA,
        )
        ids = ", ".join("'" + r + "'" for r in rows["report_key"].to_pylist())
        b.raw_sql(f"DELETE FROM {KEPT_TABLE} WHERE report_key IN ({ids})")
        b.insert(KEPT_TABLE, rows)
        with self._lock:
            for k, v, _ in todo:
                if self._unsaved.get(k) == v:
                    del self._unsaved[k]
                    self._started.pop(k, None)
        return len(todo)

    def precompute(
        self, store: Store, config: ProgramConfig, *, tables: tuple[str, ...] | None = None
    ) -> list[str]:
        """Compute what the Text page shows first, so that nobody waits for it: the
        taxonomy themes (and languages) of every table with scored texts, the weekly case
        trends and the FAQ candidates, under ``config`` (the store's own: texts redacted
        unless configured off).

        Kept in memory at once and marked for :meth:`save` (call it with a writable
        store; ``cxray text enrich`` and ``cxray serve`` do). Returns what it covered
        (``"themes:responses"``, ``"languages:responses"``, ``"trends:week"``, ``"faq"``).
        """
        self._local.warming = True  # what is asked for here is what the background covers
        try:
            return self._precompute(store, config, tables)
        finally:
            self._local.warming = False

    def _precompute(
        self, store: Store, config: ProgramConfig, tables: tuple[str, ...] | None
    ) -> list[str]:
        done = []
        have = _tables_with_texts(store)
        for table in tables or tuple(TEXT_FIELDS):
            if table not in have:
                continue
            self.themes(store, config, table=table, keep=True)
            done.append(f"themes:{table}")
            self.languages(store, table, keep=True)  # the page's note on unscored languages
            done.append(f"languages:{table}")
        if "cases" in store.backend.list_tables():
            self.trends(store, config, period="week", keep=True)
            done.append("trends:week")
        from cxray.text._faq import cached_faq  # the Text page's FAQ section

        cached_faq(store, config, keep=True, reports=self)
        done.append("faq")
        return done

    # ------------------------------------------------------------ languages

    def languages(
        self, store: Store, table: str | None = None, *, keep: bool = False
    ) -> dict[str, Any]:
        """The languages of the scored texts (of ``table``, or of every table): per language
        its texts, how many have a sentiment score, and whether sentiment supports it (every
        text of it scored); ``gaps``: the languages left unscored, each with what to do
        (``"Portuguese: 12,400 texts; sentiment needs a trained model: `cxray text train`"``).

        Kept per data version like the reports (one grouped count of ``text_sentiment``),
        read from the store's kept reports when there (counts only, no texts); ``keep``:
        mark a computed one for :meth:`save`.
        """
        if table is not None and table not in TEXT_FIELDS:
            raise QueryError(f"no texts in {table!r}; choose one of {', '.join(TEXT_FIELDS)}")
        tables = (table,) if table else tuple(TEXT_FIELDS)
        version = tuple(self.data_version(store, t) for t in tables)
        key = ("languages", store.url, table or _ALL)
        return self._get(
            key, version, lambda: _language_summary(store, table), store=store, keep=keep
        )

    # ------------------------------------------------------------ themes

    def _themes(
        self,
        store: Store,
        config: ProgramConfig,
        *,
        source: str,
        table: str,
        n_themes: int,
        seed: int,
    ) -> _Themes:
        if table not in TEXT_FIELDS:
            raise QueryError(f"no texts in {table!r}; choose one of {', '.join(TEXT_FIELDS)}")
        key = (
            "themes",
            store.url,
            self._config_key(config),
            source,
            table,
            n_themes if source == "discover" else None,
            seed,
        )

        def make() -> _Themes:
            report, docs, matrix = themes_with_documents(
                store, config, source=source, table=table, n_themes=n_themes, seed=seed
            )  # type: ignore[arg-type]
            return _Themes(report.to_dict(), docs, matrix, list(report.theme_order))

        return self._get(key, self.data_version(store, table), make)

    def themes(
        self,
        store: Store,
        config: ProgramConfig,
        *,
        source: str = "taxonomy",
        table: str = "responses",
        n_themes: int = 8,
        seed: int = 0,
        keep: bool = False,
    ) -> dict[str, Any]:
        """:func:`cxray.text.theme_report` as a dict (quotes redacted unless configured off).

        Read from memory, else from the store's kept reports at the current data
        version, else computed; ``keep``: mark a computed one for :meth:`save`
        (pass it only for the store's own config or its unmasked copy,
        :meth:`cxray.privacy.Masking.report_config`: a kept report of a reader's
        texts as written is keyed ``unmasked:``).
        """
        if table not in TEXT_FIELDS:
            raise QueryError(f"no texts in {table!r}; choose one of {', '.join(TEXT_FIELDS)}")
        key = (
            "report",
            store.url,
            self._config_key(config),
            source,
            table,
            n_themes if source == "discover" else None,
            seed,
        )
        version = self.data_version(store, table)
        with self._lock:
            self._note_warm(key)
            held = self._items.get(("themes", *key[1:]))
        if held is not None and held[0] == version:
            return held[1].report
        return self._get(
            key,
            version,
            lambda: (
                self._themes(
                    store, config, source=source, table=table, n_themes=n_themes, seed=seed
                ).report
            ),
            store=store,
            keep=keep,
        )

    def theme_rows(
        self,
        store: Store,
        config: ProgramConfig,
        theme_id: str,
        *,
        source: str = "taxonomy",
        table: str = "responses",
        n_themes: int = 8,
        seed: int = 0,
        sentiment: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The rows behind one theme of the report: most negative first (ties: newest, key).

        ``sentiment`` keeps only rows with that label. Texts are redacted unless
        ``[privacy] redact = false``.
        """
        got = self._themes(store, config, source=source, table=table, n_themes=n_themes, seed=seed)
        if theme_id not in got.order:
            raise NotFoundError(
                f"no theme {theme_id!r} in the {source} themes of {table}; "
                f"themes: {', '.join(got.order)}"
            )
        if sentiment is not None and sentiment not in ("negative", "neutral", "positive"):
            raise QueryError(f"sentiment={sentiment!r}: use negative, neutral or positive")
        docs = got.docs
        has = got.matrix[:, got.order.index(theme_id)]
        if sentiment is not None:
            has = has & (docs.label == sentiment)
        idx = np.flatnonzero(has)
        when = docs.local_time.array.asi8[idx]  # ns since the epoch
        keys = np.asarray(docs.keys, dtype=object)[idx]
        order = np.lexsort((keys, -when, docs.score[idx]))
        picked = idx[order][offset : offset + limit]
        redact = redactor(config)
        key_name = TEXT_FIELDS[table][0]
        extra_cols = list(docs.extra.columns)
        rows = []
        for i in picked:
            row: dict[str, Any] = {
                key_name: docs.keys[i],
                TIME_COLUMNS[table]: docs.local_time.iloc[i].isoformat(),
                "text": redact(docs.texts[i]),
                "sentiment_score": float(docs.score[i]),
                "sentiment_label": str(docs.label[i]),
            }
            for c in extra_cols:
                v = docs.extra[c].iloc[i]
                row[c] = None if v is None or (isinstance(v, float) and np.isnan(v)) else v
            rows.append(_plain(row))
        theme = next(t for t in got.report["themes"] if t["id"] == theme_id)
        return {
            "table": table,
            "source": source,
            "theme": {"id": theme_id, "label": theme["label"], "volume": theme["volume"]},
            "sentiment": sentiment,
            "total": int(idx.size),
            "offset": offset,
            "limit": limit,
            "has_more": offset + limit < idx.size,
            "rows": rows,
        }

    # ------------------------------------------------------------ case trends

    def trends(
        self,
        store: Store,
        config: ProgramConfig,
        *,
        period: str = "week",
        baseline: int = 8,
        keep: bool = False,
    ) -> dict[str, Any]:
        """:func:`cxray.text.case_trends` as a dict (examples redacted unless configured off);
        read and kept as :meth:`themes` is."""
        if period not in ("week", "month"):
            raise QueryError(f"period={period!r}: use week or month")
        key = ("trends", store.url, self._config_key(config), period, baseline)
        return self._get(
            key,
            self.data_version(store, "cases"),
            lambda: case_trends(store, config, period=period, baseline=baseline).to_dict(),  # type: ignore[arg-type]
            store=store,
            keep=keep,
        )


def _data_versions(store: Store) -> Any:
    """Every table's data version (:meth:`TextReports.data_version`) from three grouped
    queries; a function of the table name."""
    b = store.backend
    names = set(b.list_tables())
    log = b.table(IMPORT_LOG)
    got = log.group_by("table_name").aggregate(m=log.import_id.max()).to_pyarrow().to_pylist()
    imports = {r["table_name"]: r["m"] for r in got}
    derived: dict[str, dict[str, tuple[Any, ...]] | None] = {}
    for name, stamp in ((SENTIMENT_TABLE, "scored_at"), (THEMES_TABLE, None)):
        if name not in names:
            derived[name] = None
            continue
        t = b.table(name)
        agg = {"n": t.count()}
        if stamp:
            agg["last"] = t[stamp].max()
        rows = t.group_by("table_name").aggregate(**agg).to_pyarrow().to_pylist()
        derived[name] = {r["table_name"]: tuple(r[k] for k in agg) for r in rows if r["table_name"]}

    def of(table: str) -> tuple[Any, ...]:
        out: list[Any] = [imports.get(table)]
        for name, empty in ((SENTIMENT_TABLE, (0, None)), (THEMES_TABLE, (0,))):
            per = derived[name]
            out.append(None if per is None else per.get(table, empty))
        return tuple(out)

    return of


def _kept_id(key: tuple[Any, ...]) -> str:
    """A report's options as a row key: the same in every process (the store's URL left
    out: a copied store keeps its reports), led by ``masked:`` or ``unmasked:`` (texts
    redacted or as written, for readers with ``pii``)."""
    digest = hashlib.sha1(json.dumps([key[0], *key[2:]], default=str).encode("utf-8")).hexdigest()
    config = key[2] if len(key) > 2 and isinstance(key[2], str) else ""
    mode, sep, _ = config.partition(":")
    return f"{mode}:{digest}" if sep and mode in ("masked", "unmasked") else digest


def _version_text(version: tuple[Any, ...]) -> str:
    return json.dumps(version, default=str)


def _read_kept(
    store: Store, key: tuple[Any, ...], version: tuple[Any, ...] | None
) -> tuple[Any, Any] | None:
    """The report kept in the store for ``key`` at exactly this data ``version`` (any
    version: ``None``) as (its version, the report), or None."""
    b = store.backend
    try:
        if KEPT_TABLE not in b.list_tables():
            return None
        t = b.table(KEPT_TABLE)
        t = t.filter(t.report_key == _kept_id(key))
        if version is not None:
            t = t.filter(t.data_version == _version_text(version))
        rows = t.select("data_version", "body").to_pyarrow()
    except Exception:  # an unreadable kept report is computed anew
        return None
    if not rows.num_rows:
        return None
    return json.loads(rows["data_version"][0].as_py()), json.loads(rows["body"][0].as_py())


def _counts(version: Any) -> list[float]:
    """The numbers of a data version, in order: import ids and row counts, which only grow
    while data is added (times and digests left out; a missing table counts 0)."""
    out: list[float] = []

    def walk(v: Any) -> None:
        if isinstance(v, list | tuple):
            for x in v:
                walk(x)
        elif v is None or (isinstance(v, int | float) and not isinstance(v, bool)):
            out.append(float(v or 0))

    walk(json.loads(_version_text(version)))
    return out


def _grew(old: Any, new: Any) -> bool:
    """Whether data went from version ``old`` to ``new`` only by being added to."""
    a, b = _counts(old), _counts(new)
    return len(a) == len(b) and all(y >= x for x, y in zip(a, b, strict=True))


def _language_summary(store: Store, table: str | None) -> dict[str, Any]:
    from cxray.text._language import UNDETERMINED, language_gaps, language_name

    b = store.backend
    out: dict[str, Any] = {"table": table, "n_texts": 0, "languages": [], "gaps": []}
    if SENTIMENT_TABLE not in b.list_tables():
        return out
    s = b.table(SENTIMENT_TABLE)
    if "language" not in s.schema():
        return out
    if table is not None:
        s = s.filter(s.table_name == table)
    rows = (
        s.group_by(s.language.fill_null(UNDETERMINED).name("code"))
        .aggregate(n=s.count(), scored=s.sentiment_score.count())
        .to_pyarrow()
        .to_pylist()
    )
    rows.sort(key=lambda r: (-r["n"], r["code"]))
    total = sum(r["n"] for r in rows)
    out["n_texts"] = total
    for r in rows:
        code, n, scored = str(r["code"]), int(r["n"]), int(r["scored"])
        out["languages"].append(
            {
                "code": code,
                "name": "undetermined" if code == UNDETERMINED else language_name(code),
                "n": n,
                "share": n / total,
                "scored": scored,
                "unscored": n - scored,
                # undetermined texts (empty, too short) are scored as usual
                "supported": code == UNDETERMINED or scored == n,
            }
        )
    missing = [(r["code"], r["unscored"]) for r in out["languages"] if not r["supported"]]
    codes = np.repeat(np.array([c for c, _ in missing], dtype=object), [n for _, n in missing])
    out["gaps"] = [g.to_dict() for g in language_gaps(codes, ())]
    return out


def _tables_with_texts(store: Store) -> set[str]:
    b = store.backend
    if SENTIMENT_TABLE not in b.list_tables():
        return set()
    t = b.table(SENTIMENT_TABLE)
    return set(t.select("table_name").distinct().to_pyarrow()["table_name"].to_pylist())


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def score_texts(
    texts: list[str | None], store: Store | None = None, model: str | None = None
) -> dict[str, Any]:
    """Sentiment of texts handed over directly (nothing stored): label and score of each.

    ``model`` as for ``cxray text score``: ``None``/``auto`` (the store's domain
    model if one was learned, else the out-of-the-box scorer), ``default``, ``lexicon``,
    ``domain`` or ``embeddings`` (needs ``cxray[text]``). Model files by path are for the
    command line only.
    """
    if model not in (None, "", "auto", "default", "lexicon", "domain", "embeddings"):
        raise QueryError(f"model={model!r}: use auto, default, lexicon, domain or embeddings")
    if len(texts) > MAX_TEXTS:
        raise QueryError(f"{len(texts):,} texts in one call; send at most {MAX_TEXTS:,}")
    for i, t in enumerate(texts):
        if t is not None and not isinstance(t, str):
            raise QueryError(f"texts[{i}] is {type(t).__name__}, not a string")
    scorer, model_id = resolve_model(model or None, store)
    labels, scores = scorer.score_texts(texts)
    return {
        "model": model_id,
        "results": [
            {"sentiment_label": str(lab), "sentiment_score": float(sc)}
            for lab, sc in zip(labels, scores, strict=True)
        ],
    }


#: the process's reports: the REST API and the dashboard share it
REPORTS = TextReports()


_REMOVAL_MARGIN = dt.timedelta(seconds=30)


def _last_removal(store: Store) -> dt.datetime | None:
    """When texts were last removed from the store (the latest erasure or retention purge,
    UTC), or None."""
    b = store.backend
    names = set(b.list_tables())
    times = []
    for table, column in (("_cx_erasures", "erased_at"), ("_cx_retention", "ran_at")):
        if table in names:
            times.append(b.table(table)[column].max().to_pyarrow().as_py())
    times = [t.replace(tzinfo=None) if t.tzinfo else t for t in times if t is not None]
    return max(times) if times else None
