"""``cxray text taxonomy``: how the taxonomy matches a table's texts (or a file's), to tune it.

Parses, calls :meth:`cxray.text.Taxonomy.match_report` and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    fmt_int,
    output_format,
)
from cxray.cli._text import _read, _warn, text_app


def _records(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat line per theme (and one for the unmatched texts), for --format csv."""
    out = [
        {
            "id": t["id"],
            "label": t["label"],
            "matched": t["matched"],
            "rate": t["rate"],
            "top_keywords": "; ".join(f"{k['keyword']} ({k['texts']})" for k in t["keywords"]),
            "example": t["examples"][0] if t["examples"] else "",
        }
        for t in data["themes"]
    ]
    out.append(
        {
            "id": "(none)",
            "label": "no theme",
            "matched": data["unmatched"],
            "rate": data["unmatched_rate"],
            "top_keywords": "",
            "example": data["unmatched_examples"][0] if data["unmatched_examples"] else "",
        }
    )
    return out


@text_app.command("taxonomy")
def taxonomy(
    ctx: typer.Context,
    table: Annotated[
        str, typer.Option(help="responses (comments), cases or mentions.")
    ] = "responses",
    file: Annotated[
        Path | None,
        typer.Option(help="A CSV or JSON Lines file to match instead of the store's table."),
    ] = None,
    column: Annotated[str, typer.Option(help="The file's text column.")] = "text",
    examples: Annotated[int, typer.Option(min=0, max=20, help="Example texts per theme.")] = 3,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Each theme's match rate, top keywords and examples; unmatched texts; overlap."""
    from cxray import text
    from cxray.exceptions import ModelError
    from cxray.text._enrich import TEXT_FIELDS
    from cxray.text._stored import documents_text

    fmt = output_format(format_, json_)
    with _read(ctx) as ws:
        tx = text.Taxonomy.from_config(ws.config)
        if file is not None:
            rows, _, _ = text.read_text_file(file, column)
            texts = [r.get(column) if isinstance(r.get(column), str) else None for r in rows]
            where = str(file)
        else:
            if table not in TEXT_FIELDS:
                raise ModelError(f"no texts in {table!r}; choose one of {', '.join(TEXT_FIELDS)}")
            _, fields = TEXT_FIELDS[table]
            data = ws.store.table(table).select(*fields).to_pyarrow()
            texts = documents_text([data.column(f).to_pylist() for f in fields])
            where = table
    report = tx.match_report(texts, n_examples=examples)
    if fmt != "table":
        data = report.to_dict()
        emit(fmt, data, records=_records(data))
        _warn(report.warnings)
        return
    t = Table(
        title=f"{where}: taxonomy matches, {fmt_int(report.n_texts)} texts, "
        f"{report.unmatched_rate:.1%} without a theme, {report.overlap_rate:.1%} with two or more",
        title_justify="left",
    )
    t.add_column("theme", no_wrap=True, overflow="ellipsis", min_width=12, max_width=14)
    t.add_column("texts", justify="right", no_wrap=True, min_width=5)
    t.add_column("rate %", justify="right", no_wrap=True, min_width=6)
    t.add_column("top keywords", no_wrap=True, overflow="ellipsis", min_width=10, max_width=18)
    t.add_column("example", no_wrap=True, overflow="ellipsis", max_width=20)
    for th in report.themes:
        t.add_row(
            th["id"],
            fmt_int(th["matched"]),
            f"{th['rate'] * 100:.1f}",
            ", ".join(f"{k['keyword']} ({fmt_int(k['texts'])})" for k in th["keywords"][:2]),
            th["examples"][0][:70] if th["examples"] else "",
        )
    t.add_row(
        "[dim]no theme[/dim]",
        fmt_int(report.unmatched),
        f"{report.unmatched_rate * 100:.1f}",
        "",
        report.unmatched_examples[0][:70] if report.unmatched_examples else "",
    )
    console.print(t)
    if report.pairs:
        pairs = ", ".join(f"{a}+{b} ({fmt_int(n)})" for a, b, n in report.pairs)
        console.print(f"[dim]themes sharing most texts: {pairs}[/dim]")
    _warn(report.warnings)
