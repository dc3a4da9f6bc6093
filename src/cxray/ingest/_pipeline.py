"""From staged raw rows to one validated, typed batch for a canonical table.

Steps, the same for every source:

1. **map**: the user's ``--map canonical=source`` renames;
2. **name**: headers matched case-insensitively after trimming, snake_case;
   columns outside the contract are kept as attributes;
3. **check columns**: required columns present, at least one answer column;
4. **convert and validate** every cell: types (ISO 8601 timestamps in the
   program's zone → UTC, strict integers, decimals, booleans), required
   values, ranges from the contract and the program config's scales. One
   aggregate pass per file counts the failures of every rule; only when a rule
   fails is a typed table built to find each rule's first failing row, so
   each broken rule is reported with its file, row, column, value and count;
5. **keys**: derive missing event keys; collapse rows that repeat exactly;
   a key repeated with different values in one file is an error; across files
   a later file wins, as if imported one after another.

Nothing here writes to the store: the result is a :class:`Batch`, and
:mod:`cxray.store` writes a batch all at once or not at all. A batch may also
be read *unverified* (``verify=False``): its rules then travel with it as one
flag column, so that a writer can check and write in a single pass, falling
back to :meth:`Batch.verify` for the full report when a row fails.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxray.config import ProgramConfig
from cxray.exceptions import ImportValidationError, RowError, RuleSummary, SourceError
from cxray.ingest._derive import Derivation, derivation_sql, source_of, split_derivations
from cxray.ingest._mapping import DROP, MapExpr, check_sql, parse_expression
from cxray.ingest._readers import check_limits, csv_error, limit_kind, limits_in_effect, stage_arrow
from cxray.ingest._readers import quote_ident as q
from cxray.ingest._registry import detect_source, get_source
from cxray.ingest._source import ROW_COLUMN, Source, StageContext
from cxray.schema import ColumnSpec, TableSpec, normalize_column_name, table_spec

__all__ = ["BAD_COLUMN", "Batch", "FileInfo", "ProgressFn", "read_batch", "read_frame"]

#: ``progress(step, done, total)``: called at each step; an import of n files has
#: 2n + 2 steps (read each, check each, keys, write)
ProgressFn = Callable[[str, int, int], None]

#: the flag column of an unverified batch: true for a row that breaks a rule
BAD_COLUMN = "_bad"
_FILE_COLUMN = "_file"
_TEXT_TYPES = ("VARCHAR",)
_NESTED_PREFIXES = ("STRUCT", "MAP", "UNION")
#: at most this many distinct problems are collected per file before stopping
_MAX_RULES = 200
_TIMESTAMP_RULE = "not an ISO 8601 timestamp (e.g. 2025-03-01T14:05:00+02:00)"


@dataclass(frozen=True)
class FileInfo:
    """One input file of a batch, as recorded in the import log."""

    name: str
    source: str
    rows: int
    sha256: str | None = None
    #: rows dropped because they repeated another row exactly
    repeated: int = 0
    #: records the source left out on purpose, and why (see ``StageContext.skipped``)
    skipped: int = 0
    skipped_reason: str = ""
    #: rating questions of a survey export kept as question columns, with their scales
    #: (column -> ``"0-10"``, ``"1-5"``, ``"1-7"``)
    questions: dict[str, str] = field(default_factory=dict)


@dataclass
class Batch:
    """Validated rows for one canonical table, ready to be written.

    The rows live in DuckDB as ``relation`` (a temporary table or view of
    ``con``): contract columns in contract order, then attribute columns. When
    the caller passes its own connection to :func:`read_batch` (the store does,
    when it is DuckDB), the rows never leave that database on their way in.
    ``data`` gives them as an Arrow table. Call :meth:`close` when done.
    """

    table: TableSpec
    files: list[FileInfo]
    con: duckdb.DuckDBPyConnection
    relation: str
    #: -1 for an unverified batch until a writer or :meth:`verify` has counted it
    num_rows: int
    #: attribute (non-contract) columns and their DuckDB types
    attributes: dict[str, str] = field(default_factory=dict)
    #: contract columns that the input actually carried
    present: list[str] = field(default_factory=list)
    #: False when the rules have not been checked yet (``read_batch(verify=False)``);
    #: ``relation`` then also has the :data:`BAD_COLUMN` flag
    verified: bool = True
    _temp: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _owns_con: bool = field(default=False, repr=False)
    _data: pa.Table | None = field(default=None, repr=False)
    _verify: Callable[[], Batch] | None = field(default=None, repr=False)

    @property
    def columns(self) -> list[str]:
        return [*self.table.column_names, *self.attributes]

    @property
    def data(self) -> pa.Table:
        """The rows as an Arrow table (computed once; only for a verified batch)."""
        if not self.verified:
            raise RuntimeError("verify() the batch before reading its rows")
        if self._data is None:
            cols = ", ".join(q(c) for c in self.columns)
            self._data = self.con.sql(f"SELECT {cols} FROM {q(self.relation)}").to_arrow_table()
        return self._data

    def verify(self) -> Batch:
        """The batch with every rule checked; raises what an eager read would have raised.

        The verified batch shares this one's temporary objects: closing either closes both.
        """
        if self.verified or self._verify is None:
            return self
        return self._verify()

    def counted(self, rows: int) -> None:
        """Record the size of an unverified batch once a writer has counted its rows."""
        self.num_rows = rows
        if len(self.files) == 1:
            self.files[0] = _with_rows(self.files[0], rows)

    def close(self) -> None:
        """Drop the batch's temporary objects (and its private connection)."""
        if self._owns_con:
            self.con.close()
        else:
            for kind, name in reversed(self._temp):
                self.con.execute(f"DROP {kind} IF EXISTS {q(name)}")
        self._temp.clear()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Column:
    """One output column: its converted SQL expression and the checks on it."""

    name: str
    expr: str
    sql_type: str
    checks: list[tuple[str, str, str]] = field(default_factory=list)  # (predicate, raw, rule)
    #: False for a contract column the input does not carry (stored as NULL)
    present: bool = True
    #: the file's column it is read from (a timestamp's error names the --map that reads it)
    source: str | None = None


def read_batch(
    table: str,
    paths: Sequence[str | Path],
    *,
    config: ProgramConfig | None = None,
    source: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    verify: bool = True,
) -> Batch:
    """Read, validate and convert files for ``table`` into one :class:`Batch`.

    Raises :class:`SourceError` for a file that cannot be read at all and
    :class:`ImportValidationError` listing every broken rule across all files.
    With ``con``, the work happens in that DuckDB connection (temporary objects
    only); otherwise in a private in-memory one.

    ``verify=False`` defers the checks of a single file: the batch carries them
    as the :data:`BAD_COLUMN` flag, so a writer can check and write in one pass
    and call :meth:`Batch.verify` for the full report should any row fail.
    """
    spec = table_spec(table)
    config = config or ProgramConfig()
    if not paths:
        raise SourceError("no files given")
    source, mapping, fmt = _named_source(config, spec, source, mapping or {})
    limits = config.imports.limits
    for p in paths:  # every file within [imports.limits] before any is parsed
        check_limits(Path(p), limits, limit_kind(Path(p), fmt))
    with _Session(con) as s, limits_in_effect(limits):
        staged: list[tuple[str, Source, Path]] = []
        bases: list[int | None] = []
        skips: list[tuple[int, str]] = []
        questions: list[dict[str, str]] = []
        for i, p in enumerate(paths):
            path = Path(p)
            src = get_source(source) if source else detect_source(path, spec.name)
            if spec.name not in src.tables:
                raise SourceError(
                    f"{path.name}: source {src.name!r} cannot feed table {spec.name!r} "
                    f"(it feeds: {', '.join(sorted(src.tables))})"
                )
            if progress:
                progress(f"reading {path.name}", i, 2 * len(paths) + 2)
            target = s.temp("TABLE", f"stage_{i}")
            ctx = StageContext(con=s.con, table=spec, mapping=dict(mapping), format=fmt)
            src.stage(path, target, ctx)
            if ctx.row_base is not None:  # the source staged a view (see StageContext)
                s.objects[-1] = ("VIEW", target)
            staged.append((target, src, path))
            bases.append(ctx.row_base)
            skips.append((ctx.skipped, ctx.skipped_reason))
            questions.append({normalize_column_name(k): v for k, v in ctx.questions.items()})
        infos = [
            FileInfo(
                name=path.name,
                source=src.name,
                rows=0,
                sha256=_sha256(path),
                skipped=n,
                skipped_reason=why,
                questions=qs,
            )
            for (_, src, path), (n, why), qs in zip(staged, skips, questions, strict=True)
        ]
        return _finish(s, spec, config, staged, infos, mapping, progress, bases, verify=verify)


def read_frame(
    table: str,
    data: Any,
    *,
    name: str = "<frame>",
    config: ProgramConfig | None = None,
    mapping: dict[str, str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    source: str = "frame",
) -> Batch:
    """Validate an in-memory table (pyarrow Table or pandas DataFrame) like a file."""
    spec = table_spec(table)
    config = config or ProgramConfig()
    with _Session(con) as s:
        target = s.temp("TABLE", "stage_0")
        stage_arrow(s.con, data, target)
        infos = [FileInfo(name=name, source=source, rows=0)]
        return _finish(s, spec, config, [(target, None, Path(name))], infos, mapping or {}, None)


def _named_source(
    config: ProgramConfig, spec: TableSpec, source: str | None, mapping: dict[str, str]
) -> tuple[str | None, dict[str, str], str | None]:
    """``--source NAME``: a named source of cxray.toml first, else a vendor reader.

    Returns the vendor reader to use (None: detect), the mapping (the named source's, with
    ``mapping`` replacing single targets) and the declared file kind.
    """
    if not source:
        return None, mapping, None
    key = source.strip().lower()
    named = config.sources.get(key)
    if named is None:
        try:
            get_source(key)
        except SourceError:
            where = config.path.name if config.path else "cxray.toml"
            have = ", ".join(sorted(config.sources)) or "none"
            raise SourceError(
                f"--source {source!r} is neither a named source ([sources.NAME] in {where}; "
                f"defined: {have}) nor a reader of vendor exports "
                f"({', '.join(sorted(_source_names()))})"
            ) from None
        return key, mapping, None
    if named.table != spec.name:
        raise SourceError(
            f"--source {key}: the named source [sources.{key}] imports into {named.table}, "
            f"not {spec.name}"
        )
    given = {k.strip().lower() for k in mapping if not k.startswith(DROP)}
    merged = {
        k: v
        for k, v in named.mapping().items()
        if not k.startswith(DROP) and k.strip().lower() not in given
    }
    merged.update({k: v for k, v in mapping.items() if not k.startswith(DROP)})
    drops = [v for k, v in [*named.mapping().items(), *mapping.items()] if k.startswith(DROP)]
    merged.update({DROP * (i + 1): v for i, v in enumerate(drops)})
    return named.vendor, merged, named.format


def _source_names() -> list[str]:
    from cxray.ingest._registry import SOURCES

    return list(SOURCES)


_session_ids = itertools.count(1)


class _Session:
    """The DuckDB connection a batch is built in, and the temporary objects it made.

    On success the objects belong to the returned :class:`Batch`; on failure
    they are dropped at once, so a failed import leaves nothing behind. No
    conversion depends on the connection's time zone: each names its zone.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection | None):
        self.owns = con is None
        if con is None:
            con = duckdb.connect(":memory:")
            con.execute("SET TimeZone = 'UTC'")
        self.con = con
        self.prefix = f"_cx{next(_session_ids)}_"
        self.objects: list[tuple[str, str]] = []

    def temp(self, kind: str, name: str) -> str:
        """A fresh name for a temporary object, remembered so that it can be dropped."""
        taken = {n for _, n in self.objects}
        full, k = self.prefix + name, 1
        while full in taken:
            k += 1
            full = f"{self.prefix}{name}_{k}"
        self.objects.append((kind, full))
        return full

    def batch(self, **kw: Any) -> Batch:
        return Batch(con=self.con, _temp=self.objects, _owns_con=self.owns, **kw)

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.drop()

    def drop(self) -> None:
        if self.owns:
            self.con.close()
        else:
            for kind, name in reversed(self.objects):
                self.con.execute(f"DROP {kind} IF EXISTS {q(name)}")
            self.objects.clear()


def _finish(
    s: _Session,
    spec: TableSpec,
    config: ProgramConfig,
    staged: list[tuple[str, Source | None, Path]],
    infos: list[FileInfo],
    mapping: dict[str, str],
    progress: ProgressFn | None,
    bases: list[int | None] | None = None,
    *,
    verify: bool = True,
) -> Batch:
    con = s.con
    problems: list[RuleSummary] = []
    typed: list[tuple[str, dict[str, str]]] = []
    present: dict[str, None] = {}
    for i, (target, _src, path) in enumerate(staged):
        if progress:
            progress(f"checking {path.name}", len(staged) + i, 2 * len(staged) + 2)
        staged_target = target
        target, plain, used, extra = _apply_mapping(s, spec, target, path.name, mapping)
        cols = _plan_columns(
            con, spec, config, target, path.name, plain, used, extra, bool(infos[i].questions)
        )
        present.update({c.name: None for c in cols if c.name in spec and c.present})
        exprs = _output_exprs(spec, cols)
        attrs = {c.name: c.sql_type for c in cols if c.name not in spec}
        checks = [(col, pred, raw, rule) for col in cols for pred, raw, rule in col.checks]
        base = bases[i] if bases else None
        carried = [c for c in spec.column_names if c in present]
        if not verify and len(staged) == 1:
            # Deferred checks: the converted values and one flag that ORs every rule.
            bad = " OR ".join(f"coalesce({pred}, false)" for _c, pred, _r, _u in checks)
            view = s.temp("VIEW", "batch")
            flag = f"{bad or 'false'} AS {BAD_COLUMN}"
            con.execute(
                f"CREATE TEMP VIEW {q(view)} AS {_select(spec, target, exprs, attrs, flag=flag)}"
            )

            def verified() -> Batch:
                return _finish(s, spec, config, staged, infos, mapping, None, bases)

            return s.batch(
                table=spec,
                files=infos,
                relation=view,
                num_rows=-1,
                attributes=attrs,
                present=carried,
                verified=False,
                _verify=verified,
            )
        # One aggregate pass counts every rule's failures and the distinct keys.
        aggs = ["count(*)", f"count(DISTINCT {exprs[spec.key]})"]
        aggs += [f"count(*) FILTER (WHERE {pred})" for _c, pred, _r, _u in checks]
        # Touch every column too, so that a file that cannot be read (say, a byte that is
        # not UTF-8 in a column no rule looks at) fails here and not halfway through a write.
        aggs += [f"count({exprs[c.name]})" for c in cols if c.present and not c.checks]
        counts = _run(con, f"SELECT {', '.join(aggs)} FROM {q(target)}", path.name).fetchone()
        rows, distinct = counts[0], counts[1]
        clean = not any(counts[2 : 2 + len(checks)])
        if clean and len(staged) == 1 and rows == distinct:
            # The common case: one clean file with unique keys. The batch is a view that
            # converts as the store reads it, so the rows are written in one more pass.
            infos[i] = _with_rows(infos[i], rows)
            view = s.temp("VIEW", "batch")
            con.execute(f"CREATE TEMP VIEW {q(view)} AS {_select(spec, target, exprs, attrs)}")
            return s.batch(
                table=spec,
                files=infos,
                relation=view,
                num_rows=rows,
                attributes=attrs,
                present=carried,
            )
        # Otherwise convert into a table with one flag column per rule: to find the first
        # failing row of each rule, or to compare keys across rows and files.
        out = s.temp("TABLE", f"typed_{i}")
        flags = [f"({pred}) AS _chk{k}" for k, (_c, pred, _r, _u) in enumerate(checks)]
        select = _select(spec, target, exprs, attrs, i, extra=flags, numbered=base is None)
        _run(con, f"CREATE TEMP TABLE {q(out)} AS {select}", path.name)
        if base is not None:
            # The view was read in file order, so the typed table's rowid is the position.
            con.execute(f"UPDATE {q(out)} SET {ROW_COLUMN} = rowid + {base}")
        if not clean:
            problems += _problems(con, target, out, path.name, checks, base)
        if target != staged_target:
            con.execute(f"DROP VIEW IF EXISTS {q(target)}")
        kind = "VIEW" if base is not None else "TABLE"
        con.execute(f"DROP {kind} IF EXISTS {q(staged_target)}")
        if not clean:
            continue
        infos[i] = _with_rows(infos[i], rows)
        typed.append((out, attrs))
    if problems:
        raise ImportValidationError(problems)
    if progress:
        progress("checking keys", 2 * len(staged), 2 * len(staged) + 2)
    attributes = _merge_attributes(typed)
    union = _union(s, spec, typed, attributes)
    repeated = _dedupe(con, spec, union, [path.name for _, _, path in staged])
    for idx, n in repeated.items():
        infos[idx] = FileInfo(**{**infos[idx].__dict__, "repeated": n})
    (rows,) = con.execute(f"SELECT count(*) FROM {q(union)}").fetchone()
    return s.batch(
        table=spec,
        files=infos,
        relation=union,
        num_rows=rows,
        attributes=attributes,
        present=[c for c in spec.column_names if c in present],
    )


def _run(con: duckdb.DuckDBPyConnection, sql: str, file: str) -> duckdb.DuckDBPyConnection:
    """Execute SQL that reads a staged file; a file that cannot be parsed is a SourceError."""
    try:
        return con.execute(sql)
    except duckdb.Error as exc:
        # Only a lazily staged CSV file is parsed here (TRY_CAST never raises).
        raise csv_error(file, exc) from exc


def _with_rows(info: FileInfo, rows: int) -> FileInfo:
    return FileInfo(**{**info.__dict__, "rows": rows})


def _sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


# ---------------------------------------------------------------- column planning


def _plan_columns(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    config: ProgramConfig,
    target: str,
    file: str,
    mapping: dict[str, str],
    used: set[str] | None = None,
    extra: dict[str, list[tuple[str, str, str]]] | None = None,
    questions: bool = False,
) -> list[_Column]:
    described = con.execute(f"DESCRIBE {q(target)}").fetchall()
    raw_types = {name: typ for name, typ, *_ in described if name != ROW_COLUMN}
    stamps = {c.name for c in spec.columns if c.type == "timestamp"}
    mapping, derived = split_derivations(mapping, list(raw_types), stamps)
    names = _resolve_names(spec, list(raw_types), file, mapping)
    # columns used up by a value map, a SQL expression or a "-" (see _apply_mapping)
    for raw in used or ():
        if names.get(raw) not in spec:
            names.pop(raw, None)
    for d in derived.values():  # a derived column uses its source up (see ingest/_derive.py)
        raw = _find_column(list(raw_types), d.source)
        if raw is None:
            raise SourceError(
                f"{file}: column {d.source!r} named in --map {d.option} is not in the file "
                f"(its columns: {_listing(list(raw_types))})"
            )
        names.pop(raw, None)
        # the file's own column of that name stays, as an attribute
        names = {r: (f"{c}_original" if c == d.canonical else c) for r, c in names.items()}
    by_canonical = {canon: raw for raw, canon in names.items()}
    by_canonical.update({canon: d.source for canon, d in derived.items()})

    missing = [c for c in spec.required if c not in by_canonical]
    if missing:
        raise SourceError(
            f"{file}: required column(s) missing: {', '.join(missing)} "
            f"(its columns: {_listing(list(raw_types))}); map one with --map {missing[0]}=COLUMN"
        )
    answered = any(c in by_canonical for c in spec.at_least_one_of)
    if spec.at_least_one_of and not answered and not questions:
        raise SourceError(
            f"{file}: a {spec.name} file needs at least one of the columns "
            f"{', '.join(spec.at_least_one_of)} (its columns: {_listing(list(raw_types))})"
        )

    cols: list[_Column] = []
    for c in spec.columns:
        if c.name in derived:
            cols.append(_derived_column(spec, c, derived[c.name], raw_types, config))
            continue
        raw = by_canonical.get(c.name)
        cols.append(_contract_column(spec, c, raw, raw_types.get(raw or "", ""), config))
    for raw, canon in names.items():
        if canon not in spec:
            cols.append(_attribute_column(canon, raw, raw_types[raw]))
    for col in cols:
        more = (extra or {}).get(col.name, []) if col.present else []
        if more and col.checks and col.checks[0][2] == "a value is required":
            # a value the mapping could not make is reported once, by the mapping's rule
            pred, raw, rule = col.checks[0]
            fails = " OR ".join(f"coalesce({p}, false)" for p, _r, _u in more)
            col.checks[0] = (f"({pred}) AND NOT ({fails})", raw, rule)
        col.checks += more
    return cols


#: the name prefix of a column a mapping computes (see _apply_mapping)
_MAPPED = "__cx_map__"


def _apply_mapping(
    s: _Session, spec: TableSpec, target: str, file: str, mapping: dict[str, str]
) -> tuple[str, dict[str, str], set[str], dict[str, list[tuple[str, str, str]]]]:
    """Resolve the user's mappings against the staged file ``target``.

    Returns the relation to read (``target``, or a view over it with one column per
    computed mapping), the mapping as plain renames (derived forms pass through), the
    columns used up (by a value map, a SQL expression or ``-``) and extra checks per
    contract column (a value missing from a value map, a SQL expression that fails).
    """
    con = s.con
    described = con.execute(f"DESCRIBE {q(target)}").fetchall()
    raw_types = {name: typ for name, typ, *_ in described if name != ROW_COLUMN}
    raw_names = list(raw_types)
    plain: dict[str, str] = {}
    used: set[str] = set()
    fed: set[str] = set()  # columns renamed to a target
    computed: list[tuple[str, str]] = []
    extra: dict[str, list[tuple[str, str, str]]] = {}

    def column(m: MapExpr, wanted: str | None = None) -> str:
        if m.position is not None:
            return raw_names[m.position - 1]
        wanted = wanted if wanted is not None else m.column or ""
        raw = _find_column(raw_names, wanted)
        if raw is None:
            hint = f"; for a SQL expression write sql:{wanted}" if "(" in wanted else ""
            raise SourceError(
                f"{file}: column {wanted!r} named in {m.option} is not in the file "
                f"(its columns: {_listing(raw_names)}){hint}"
            )
        return raw

    for name, text in mapping.items():
        m = parse_expression(name.strip(), text, raw_names)
        if name.startswith(DROP):
            used.add(column(m))
            continue
        canon = name.strip().lower()
        if canon not in spec:
            raise SourceError(
                f"{m.option}: {name!r} is not a column of {spec.name}; a mapping's target is "
                f"one of {', '.join(spec.column_names)} (or - to leave a column out)"
            )
        out = _MAPPED + canon
        if m.kind == "column" and source_of(text) and _find_column(raw_names, text) is None:
            plain[name] = text  # a derived timestamp (ingest/_derive.py)
            continue
        if m.kind in ("column", "position"):
            raw = column(m)
            if raw in fed:  # one column feeds several targets: the others get a copy
                computed.append((out, q(raw)))
                plain[name] = out
            else:
                fed.add(raw)
                plain[name] = raw
            continue
        plain[name] = out
        if m.kind == "const":
            computed.append((out, f"CAST({_literal(m.value or '')} AS VARCHAR)"))
        elif m.kind == "values":
            raw = column(m)
            used.add(raw)
            text_sql = _text(raw, raw_types[raw])
            low = f"lower({text_sql})"
            default = next((new for old, new in m.pairs if old == "*"), None)
            pairs = [(old, new) for old, new in m.pairs if old != "*"]
            whens = " ".join(
                f"WHEN {low} = {_literal(old.lower())} THEN {_literal(new) if new else 'NULL'}"
                for old, new in pairs
            )
            other = _literal(default) if default else "NULL"
            computed.append(
                (
                    out,
                    f"CAST(CASE WHEN {text_sql} IS NULL THEN NULL {whens} ELSE {other} END "
                    "AS VARCHAR)",
                )
            )
            if default is None:
                known = ", ".join(repr(old) for old, _ in pairs)
                keys = ", ".join(_literal(old.lower()) for old, _ in pairs)
                extra.setdefault(canon, []).append(
                    (
                        f"{text_sql} IS NOT NULL AND {low} NOT IN ({keys})",
                        text_sql,
                        f"{raw!r} (mapped by {m.option}): not one of {known}; add it to the "
                        "map, or *->VALUE for every other value",
                    )
                )
        else:  # sql
            expr, inputs = _sql_mapping(con, target, raw_names, raw_types, m, file)
            used.update(inputs)
            computed.append((out, f"TRY({expr})"))
            shown = " || ', ' || ".join(
                f"{_literal(r + '=')} || coalesce({_text(r, raw_types[r])}, 'NULL')" for r in inputs
            )
            extra.setdefault(canon, []).append(
                (
                    f"TRY(({expr}) IS NULL) IS NULL",
                    shown or "NULL",
                    f"{m.option}: the expression fails on this row",
                )
            )
    unnamed = [
        r for i, r in enumerate(raw_names, 1) if r == f"#{i}" and r not in fed and r not in used
    ]
    if unnamed:
        n = unnamed[0][1:]
        raise SourceError(
            f"{file}: column {n} of the header has no name; map it with --map TARGET=#{n} "
            f"(a column of {spec.name}), or leave it out with --map -=#{n}"
        )
    if not computed:
        return target, plain, used - fed, extra
    view = s.temp("VIEW", "mapped")
    adds = ", ".join(f"{expr} AS {q(name)}" for name, expr in computed)
    con.execute(f"CREATE TEMP VIEW {q(view)} AS SELECT *, {adds} FROM {q(target)}")
    return view, plain, used - fed, extra


def _sql_mapping(
    con: duckdb.DuckDBPyConnection,
    target: str,
    raw_names: list[str],
    raw_types: dict[str, str],
    m: MapExpr,
    file: str,
) -> tuple[str, list[str]]:
    """A checked ``sql:`` mapping as DuckDB SQL over the staged columns, and its inputs."""
    import sqlglot
    from sqlglot import exp

    where = m.option
    check_sql(m.value or "", where, raw_names)
    tree = sqlglot.parse_one(m.value or "", read="duckdb")
    inputs: list[str] = []
    for node in list(tree.find_all(exp.Column)):
        raw = _find_column(raw_names, node.name)
        if raw is None:
            raise SourceError(
                f"{file}: {where}: {node.name!r} is not a column of the file "
                f'(its columns: {_listing(raw_names)}; quote a name with spaces in "...")'
            )
        if raw not in inputs:
            inputs.append(raw)
        # text (CSV) as the user sees it: trimmed, empty = NULL; typed columns as they are
        value = _text(raw, raw_types[raw]) if raw_types[raw] in _TEXT_TYPES else q(raw)
        node.replace(sqlglot.parse_one(value, read="duckdb"))
    expr = tree.sql(dialect="duckdb")
    try:
        con.execute(f"SELECT {expr} FROM {q(target)} LIMIT 0")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        text = any(raw_types[r] in _TEXT_TYPES for r in inputs)
        hint = (
            "; the file's columns are text here: cast them, e.g. "
            f"{q(inputs[0]) if inputs[0] != inputs[0].lower() else inputs[0]}::DOUBLE"
            if text and inputs
            else ""
        )
        raise SourceError(f"{file}: {where}: DuckDB cannot evaluate it: {first}{hint}") from None
    return expr, inputs


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _listing(raw_names: list[str], limit: int = 40) -> str:
    """``#1 customerID, #2 gender, ...``: the file's columns with their positions."""
    raw_names = [n for n in raw_names if not n.startswith(_MAPPED)]
    shown = [
        f"#{i} (no name)" if n == f"#{i}" else f"#{i} {n}"
        for i, n in enumerate(raw_names[:limit], start=1)
    ]
    more = f", ... ({len(raw_names)} in all)" if len(raw_names) > limit else ""
    return (", ".join(shown) + more) or "none"


def _find_column(raw_names: list[str], wanted: str) -> str | None:
    """The file's column ``wanted`` names: exactly, ignoring case, or once normalized."""
    for test in (
        lambda r: r == wanted,
        lambda r: r.strip().lower() == wanted.strip().lower(),
        lambda r: normalize_column_name(r) == normalize_column_name(wanted),
    ):
        found = next((r for r in raw_names if test(r)), None)
        if found is not None:
            return found
    return None


def _derived_column(
    spec: TableSpec, c: ColumnSpec, d: Derivation, raw_types: dict[str, str], config: ProgramConfig
) -> _Column:
    """A contract timestamp computed from another column (``--map created_at=tenure:...``)."""
    raw = _find_column(list(raw_types), d.source)
    assert raw is not None
    text = _text(raw, raw_types[raw])
    zone = config.program.timezone
    expr, bad, rule = derivation_sql(d, text, _local_to_utc("{}", zone))
    col = _Column(c.name, expr, c.sql_type)
    col.checks.append((bad, text, rule))
    if c.required:
        col.checks.insert(0, (f"{text} IS NULL", "NULL", f"a value is required in {d.source!r}"))
    return col


def _resolve_names(
    spec: TableSpec, raw_names: list[str], file: str, mapping: dict[str, str]
) -> dict[str, str]:
    """Map each raw column to its output name (contract name or normalized attribute)."""
    out: dict[str, str] = {}
    by_norm = {}
    for raw in raw_names:
        by_norm.setdefault(normalize_column_name(raw), raw)
    for canonical, wanted in mapping.items():
        canon = canonical.strip().lower()
        if canon not in spec:
            raise SourceError(
                f"--map {canonical}={wanted}: {canonical!r} is not a column of {spec.name} "
                f"({', '.join(spec.column_names)})"
            )
        raw = next((r for r in raw_names if r == wanted), None)
        raw = raw or next(
            (r for r in raw_names if r.strip().lower() == wanted.strip().lower()), None
        )
        raw = raw or by_norm.get(normalize_column_name(wanted))
        if raw is None:
            raise SourceError(
                f"{file}: column {wanted!r} named in --map {canonical}={wanted} is not in the file"
            )
        out[raw] = canon
    taken: dict[str, str] = {v: k for k, v in out.items()}
    for raw in raw_names:
        if raw in out:
            continue
        name = normalize_column_name(raw)
        if name in taken:
            if name in spec and any(m.strip().lower() == name for m in mapping):
                name = f"{name}_original"  # a mapped column displaced the file's own
            else:
                raise SourceError(
                    f"{file}: columns {taken[name]!r} and {raw!r} both mean {name!r}; "
                    "rename one of them"
                )
        if name.startswith("_"):
            name = "x" + name
        out[raw] = name
        taken[name] = raw
    return out


def _text(raw: str, raw_type: str) -> str:
    """SQL for a raw value as trimmed text, empty = missing."""
    ident = q(raw)
    if raw_type in _TEXT_TYPES:
        return f"NULLIF(trim({ident}), '')"
    if raw_type.startswith(_NESTED_PREFIXES) or raw_type.endswith("[]"):
        return f"CAST(to_json({ident}) AS VARCHAR)"
    return f"CAST({ident} AS VARCHAR)"


def _contract_column(
    spec: TableSpec, c: ColumnSpec, raw: str | None, raw_type: str, config: ProgramConfig
) -> _Column:
    if raw is None:
        return _Column(c.name, f"CAST(NULL AS {c.sql_type})", c.sql_type, present=False)
    text = _text(raw, raw_type)
    ident = q(raw)
    col = _Column(c.name, "", c.sql_type, source=raw)
    if c.type == "string":
        col.expr = text
    elif c.type == "timestamp":
        zone = config.program.timezone
        if raw_type == "TIMESTAMP WITH TIME ZONE":
            col.expr = f"timezone('UTC', {ident})"
        elif raw_type.startswith("TIMESTAMP") or raw_type == "DATE":
            col.expr = _local_to_utc(f"CAST({ident} AS TIMESTAMP)", zone)
        else:
            col.expr = _text_to_utc(text, zone)
        col.checks.append(
            (
                f"{text} IS NOT NULL AND (({col.expr}) IS NULL OR isinf({col.expr}))",
                text,
                _TIMESTAMP_RULE,
            )
        )
    elif c.type == "integer":
        num = (
            ident
            if raw_type in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT")
            else f"TRY_CAST({text} AS DOUBLE)"
        )
        col.expr = f"CASE WHEN {num} = trunc({num}) THEN CAST({num} AS BIGINT) END"
        col.checks.append((f"{text} IS NOT NULL AND ({col.expr}) IS NULL", text, "not an integer"))
    elif c.type == "decimal":
        col.expr = f"TRY_CAST({text} AS {c.sql_type})"
        col.checks.append((f"{text} IS NOT NULL AND ({col.expr}) IS NULL", text, "not a number"))
    elif c.type == "number":
        col.expr = f"TRY_CAST({text} AS DOUBLE)"
        col.checks.append(
            (
                f"{text} IS NOT NULL AND (isnan({col.expr}) OR ({col.expr}) IS NULL)",
                text,
                "not a number",
            )
        )
    elif c.type == "boolean":
        low = f"lower({text})"
        col.expr = (
            f"CASE WHEN {low} IN ('true', 't', 'yes', 'y', '1') THEN true "
            f"WHEN {low} IN ('false', 'f', 'no', 'n', '0') THEN false END"
        )
        col.checks.append(
            (
                f"{text} IS NOT NULL AND ({col.expr}) IS NULL",
                text,
                "not a boolean (true/false, yes/no, 1/0)",
            )
        )
    else:  # pragma: no cover - the contract has no other types
        raise AssertionError(c.type)

    lo, hi = c.min, c.max
    if c.scale:
        scale = config.scale(c.scale)
        lo, hi = scale.min, scale.max
    if lo is not None or hi is not None:
        conds = []
        if lo is not None:
            conds.append(f"({col.expr}) < {lo}")
        if hi is not None:
            conds.append(f"({col.expr}) > {hi}")
        col.checks.append((" OR ".join(conds), text, _range_rule(c, lo, hi)))
    if c.required and not (c.name == spec.key and spec.derive_key_from):
        col.checks.insert(0, (f"{text} IS NULL", "NULL", "a value is required"))
    return col


def _local_to_utc(naive: str, zone: str) -> str:
    """SQL turning a naive TIMESTAMP read in ``zone`` into naive UTC."""
    if zone == "UTC":
        return naive
    return f"timezone('UTC', timezone('{zone}', {naive}))"


def _text_to_utc(text: str, zone: str) -> str:
    """SQL converting ISO 8601 text to naive UTC without relying on the session's zone.

    A naive value is read in the program's zone: in UTC that is the plain
    TIMESTAMP cast, several times faster than the zone-aware one. A value with an
    offset (``+02:00``, ``-0530``; ``Z`` too outside UTC), or one the plain cast
    cannot read, goes through the zone-aware cast. NULL (or infinity) means not a
    timestamp: the same expression converts and decides validity.
    """
    plain = f"TRY_CAST({text} AS TIMESTAMP)"
    rest = f"substr({text}, 11)"  # after the date, '+' or '-' can only start an offset
    offset = f"strpos({rest}, '+') > 0 OR strpos({rest}, '-') > 0"
    if zone != "UTC":
        offset += f" OR right({text}, 1) IN ('Z', 'z')"
    # ISO 8601 lets "hh:mm" stand before an offset; DuckDB wants seconds there, so a
    # value that fails is retried with ":00" added (only such values pay for the regex).
    padded = (
        f"regexp_replace({text}, '^(\\d{{4}}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d)"
        f"([Zz]|\\s*[+-].*)$', '\\1:00\\2')"
    )
    aware = (
        f"timezone('UTC', COALESCE(TRY_CAST({text} AS TIMESTAMPTZ), "
        f"TRY_CAST({padded} AS TIMESTAMPTZ)))"
    )
    return (
        f"CASE WHEN NOT ({offset}) AND {plain} IS NOT NULL "
        f"THEN {_local_to_utc(plain, zone)} ELSE {aware} END"
    )


def _range_rule(c: ColumnSpec, lo: float | None, hi: float | None) -> str:
    kind = "an integer" if c.type == "integer" else "a number"
    fmt = lambda x: f"{x:g}"  # noqa: E731
    if lo is not None and hi is not None:
        return f"out of range: must be {kind} from {fmt(lo)} to {fmt(hi)}"
    if lo is not None:
        return f"out of range: must be {kind} ≥ {fmt(lo)}"
    return f"out of range: must be {kind} ≤ {fmt(hi)}"


def _attribute_column(name: str, raw: str, raw_type: str) -> _Column:
    if raw_type in _TEXT_TYPES or raw_type.startswith(_NESTED_PREFIXES) or raw_type.endswith("[]"):
        return _Column(name, _text(raw, raw_type), "VARCHAR")
    if raw_type == "TIMESTAMP WITH TIME ZONE":
        return _Column(name, f"timezone('UTC', {q(raw)})", "TIMESTAMP")
    if raw_type == '"NULL"':
        return _Column(name, f"CAST({q(raw)} AS VARCHAR)", "VARCHAR")
    return _Column(name, q(raw), raw_type)


# ---------------------------------------------------------------- validation


def _problems(
    con: duckdb.DuckDBPyConnection,
    target: str,
    typed: str,
    file: str,
    checks: list[tuple[_Column, str, str, str]],
    base: int | None,
) -> list[RuleSummary]:
    """Each failing rule of ``typed`` with its count, first failing row and raw value."""
    aggs = [f"count(*) FILTER (WHERE _chk{k})" for k in range(len(checks))]
    aggs += [f"min({ROW_COLUMN}) FILTER (WHERE _chk{k})" for k in range(len(checks))]
    row = con.execute(f"SELECT {', '.join(aggs)} FROM {q(typed)}").fetchone()
    counts, firsts = row[: len(checks)], row[len(checks) :]
    out = []
    for k, (n, r) in enumerate(zip(counts, firsts, strict=True)):
        if not n:
            continue
        col, _pred, raw, rule = checks[k]
        # a view in file order has no _row: there the row is found by its position
        where = f"WHERE {ROW_COLUMN} = {r}" if base is None else f"LIMIT 1 OFFSET {r - base}"
        (value,) = con.execute(f"SELECT CAST({raw} AS VARCHAR) FROM {q(target)} {where}").fetchone()
        if rule == _TIMESTAMP_RULE and col.source:
            rule = _with_date_hint(con, target, col, raw, rule)
        out.append(RuleSummary(RowError(file, r, col.name, value, rule), n))
    out.sort(key=lambda s: (s.first.row or 0, s.first.column or ""))
    return out[:_MAX_RULES]


def _with_date_hint(
    con: duckdb.DuckDBPyConnection, target: str, col: _Column, raw: str, rule: str
) -> str:
    """``rule`` and, when the column's values are dates of a known other format, what they
    look like and the ``--map`` that reads them (:func:`cxray.ingest._dates.date_hint`)."""
    from cxray.ingest._dates import date_hint

    sample = con.execute(
        f"SELECT DISTINCT CAST({raw} AS VARCHAR) AS v FROM {q(target)} "
        f"WHERE {raw} IS NOT NULL ORDER BY v LIMIT 200"
    ).fetchall()
    hint = date_hint(con, col.name, str(col.source), [v for (v,) in sample])
    return f"{rule}; {hint}" if hint else rule


def _output_exprs(spec: TableSpec, cols: list[_Column]) -> dict[str, str]:
    """Output column -> converted SQL expression, with the derived key where needed."""
    exprs = {c.name: c.expr for c in cols}
    if spec.derive_key_from:
        parts = []
        for name in spec.derive_key_from:
            e = exprs[name]
            if spec.column(name).type == "timestamp":
                e = f"strftime({e}, '%Y-%m-%dT%H:%M:%S.%f')"
            parts.append(e)
        derived = "substr(md5(" + " || chr(31) || ".join(parts) + "), 1, 20)"
        exprs[spec.key] = f"COALESCE({exprs[spec.key]}, {derived})"
    return exprs


def _select(
    spec: TableSpec,
    target: str,
    exprs: dict[str, str],
    attrs: dict[str, str],
    file_index: int | None = None,
    extra: Sequence[str] = (),
    *,
    numbered: bool = True,
    flag: str | None = None,
) -> str:
    """SELECT of the converted output columns (and ``flag``, an unverified batch's check).

    With ``file_index``, also the row and file position and ``extra`` columns;
    ``numbered=False`` when the source has no ``_row`` yet (a NULL placeholder).
    """
    names = [*spec.column_names, *attrs]
    select = [f"{exprs[n]} AS {q(n)}" for n in names]
    if flag is not None:
        select.append(flag)
    if file_index is not None:
        row = ROW_COLUMN if numbered else f"CAST(NULL AS BIGINT) AS {ROW_COLUMN}"
        select += [row, f"{file_index} AS {_FILE_COLUMN}", *extra]
    return f"SELECT {', '.join(select)} FROM {q(target)}"


def _merge_attributes(typed: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for _, attrs in typed:
        for name, typ in attrs.items():
            if name in merged and merged[name] != typ:
                merged[name] = "VARCHAR"  # files disagree: keep every value as text
            else:
                merged.setdefault(name, typ)
    return merged


def _union(
    s: _Session,
    spec: TableSpec,
    typed: list[tuple[str, dict[str, str]]],
    attributes: dict[str, str],
) -> str:
    if len(typed) == 1 and list(typed[0][1].items()) == list(attributes.items()):
        return typed[0][0]
    parts = []
    for name, attrs in typed:
        sel = [q(c) for c in spec.column_names]
        for a, typ in attributes.items():
            sel.append(f"CAST({q(a) if a in attrs else 'NULL'} AS {typ}) AS {q(a)}")
        sel += [ROW_COLUMN, _FILE_COLUMN]
        parts.append(f"SELECT {', '.join(sel)} FROM {q(name)}")
    union = s.temp("TABLE", "union")
    s.con.execute(f"CREATE TEMP TABLE {q(union)} AS " + " UNION ALL ".join(parts))
    return union


def _dedupe(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, union: str, files: list[str]
) -> dict[int, int]:
    """Collapse exact repeats; reject conflicting keys within a file; later files win.

    Returns the number of exact repeats dropped per file index.
    """
    key = q(spec.key)
    n, distinct = con.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {q(union)}").fetchone()
    if n == distinct:
        return {}
    value_cols = [
        c
        for c in _columns(con, union)
        if c not in (ROW_COLUMN, _FILE_COLUMN) and not c.startswith("_chk")
    ]
    row_hash = "hash(" + ", ".join(q(c) for c in value_cols) + ")"
    conflicts = con.execute(
        f"""
        SELECT {_FILE_COLUMN}, {key}, min({ROW_COLUMN}), max({ROW_COLUMN})
        FROM {q(union)} GROUP BY {_FILE_COLUMN}, {key}
        HAVING count(DISTINCT {row_hash}) > 1
        ORDER BY {_FILE_COLUMN}, min({ROW_COLUMN}) LIMIT 20
        """
    ).fetchall()
    if conflicts:
        total = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {q(union)} GROUP BY {_FILE_COLUMN}, {key} "
            f"HAVING count(DISTINCT {row_hash}) > 1)"
        ).fetchone()[0]
        summaries = []
        for _fi, group in itertools.groupby(conflicts, key=lambda r: r[0]):
            rows = list(group)
            f, k, first, second = rows[0]
            summaries.append(
                RuleSummary(
                    RowError(
                        files[f],
                        second,
                        spec.key,
                        k,
                        f"duplicate key: row {first} has the same {spec.key} with different values",
                    ),
                    total if len(files) == 1 else len(rows),
                )
            )
        raise ImportValidationError(summaries)
    before = dict(
        con.execute(f"SELECT {_FILE_COLUMN}, count(*) FROM {q(union)} GROUP BY ALL").fetchall()
    )
    final = union + "_final"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {q(final)} AS
        SELECT * FROM {q(union)}
        QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {_FILE_COLUMN} DESC,
                                   {ROW_COLUMN} DESC) = 1
        """
    )
    # Rows that lost to the same key in a later file are replacements, not repeats.
    after_within = dict(
        con.execute(
            f"SELECT {_FILE_COLUMN}, count(DISTINCT {key}) FROM {q(union)} GROUP BY ALL"
        ).fetchall()
    )
    con.execute(f"DROP TABLE {q(union)}")
    con.execute(f"ALTER TABLE {q(final)} RENAME TO {q(union)}")
    return {f: before[f] - after_within.get(f, 0) for f in before if before[f] > after_within[f]}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {q(table)}").fetchall()]
