"""Typeform responses (Responses API JSON, a JSON array, or JSON Lines) → ``responses``.

Each response item carries ``response_id``/``token``, ``landed_at``,
``submitted_at``, ``metadata``, ``hidden`` fields, ``calculated.score``,
``variables`` and ``answers``; every answer names its field (``field.id``,
``field.ref``, ``field.type``) and holds its value under the key named by the
answer's ``type``. See ``docs/importers-vendors.md`` for the mapping.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import (
    UserClaims,
    choose_defaults,
    first_filled,
    flatten,
    head_text,
    load_json,
    rating_questions,
    stage_rows,
    to_json_text,
    user_claims,
)

__all__ = ["TypeformSource"]

#: hidden fields that identify the customer, in order of preference
_CUSTOMER_HIDDEN = ("customer_id", "user_id", "email")
#: Typeform answers its "unfinished" responses with this placeholder time
_NO_TIME = "0001-01-01"
_ITEM_KEYS = ("landed_at", "answers")
#: Typeform field types whose number answers are ratings (question columns with a scale)
_RATING_TYPES = ("rating", "opinion_scale")
_SNIFF_KEYS = re.compile(r'"(landed_at|landing_id)"\s*:')


class TypeformSource(Source):
    name = "typeform"
    description = "Typeform responses (Responses API JSON, JSON array or JSON Lines)"
    tables = frozenset({"responses"})
    suffixes = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head)
        return bool(_SNIFF_KEYS.search(text)) and ('"answers"' in text or '"token"' in text)

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        items, rows = _items(path)
        claims = user_claims(ctx.mapping)

        records: list[dict[str, Any]] = []
        nps_fields: dict[str, None] = {}
        order: dict[str, None] = {}  # answer columns in order of first appearance
        field_types: dict[str, str] = {}
        for item, row in zip(items, rows, strict=True):
            rec, answers = _record(item, path, row)
            for name, ftype in answers:
                order.setdefault(name, None)
                field_types.setdefault(name, ftype)
                if ftype == "nps":
                    nps_fields.setdefault(name, None)
            records.append(rec)

        columns = _column_names(records)
        defaults: list[tuple[str, str]] = []
        hidden = first_filled([f"hidden:{k}" for k in _CUSTOMER_HIDDEN], records)
        if hidden:
            defaults.append(("customer_id", columns[hidden]))
        nps = _nps_field(path, [columns[k] for k in nps_fields], claims)
        if nps:
            defaults.append(("nps", nps))
            answered = [columns[k] for k in order]
            after = answered.index(nps) + 1
            if after < len(answered) and field_types[list(order)[after]] == "long_text":
                defaults.append(("comment", answered[after]))
        chosen = choose_defaults(columns.values(), defaults, claims)
        renames = {key: chosen.get(name, name) for key, name in columns.items()}
        ratings = [
            k
            for k in order
            if field_types[k] in _RATING_TYPES
            and columns[k] not in chosen
            and not claims.uses(columns[k])
        ]
        found = rating_questions(ratings, records, claims)  # records are keyed by answer:REF
        ctx.questions = {renames[k]: scale for k, scale in found.items()}
        answered = set(chosen.values()) | set(claims.canonical)
        if not found and not answered & {"nps", "csat", "ces", "comment"}:
            refs = ", ".join(f"{columns[k]} ({field_types[k] or '?'})" for k in order)
            raise SourceError(
                f"{path.name}: the responses have no NPS field and no rating question; map an "
                "answer with --map nps=REF (or csat=, ces=, comment=). The answer refs in "
                f"these responses (they can differ from the form definition's): {refs or 'none'}"
            )
        stage_rows(ctx.con, target, records, rows, path.name, renames)


def _items(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The response items and their rows: position in the file, or line for JSON Lines."""
    data = load_json(path)
    items: list[dict[str, Any]] = []
    rows: list[int] = []

    def add(value: Any, row: int, where: str) -> None:
        if isinstance(value, dict) and isinstance(value.get("form_response"), dict):
            value = value["form_response"]  # a webhook delivery
        if not isinstance(value, dict) or not any(k in value for k in _ITEM_KEYS):
            raise SourceError(
                f"{path.name}, {where}: not a Typeform response (an object with "
                "'landed_at' and 'answers')"
            )
        items.append(value)
        rows.append(row)

    for line, value in data.values:
        if isinstance(value, dict) and isinstance(value.get("items"), list):
            for item in value["items"]:
                add(item, len(items) + 1, f"item {len(items) + 1}")
        elif isinstance(value, list):
            for item in value:
                add(item, len(items) + 1, f"item {len(items) + 1}")
        elif data.lines:
            add(value, line, f"line {line}")
        else:
            add(value, 1, "item 1")
    if not items:
        raise SourceError(f"{path.name}: the Typeform file has no responses")
    return items, rows


def _record(
    item: dict[str, Any], path: Path, row: int
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One response as flat columns, and its answer columns with their field types.

    Keys are internal: ``answer:<ref>``, ``hidden:<name>``, plain names for the rest;
    :func:`_column_names` turns them into column names.
    """
    rec: dict[str, Any] = {}
    rid = item.get("response_id") or item.get("token")
    rec["response_id"] = None if rid is None else str(rid)
    submitted = item.get("submitted_at")
    if not submitted or str(submitted).startswith(_NO_TIME):
        submitted = item.get("landed_at")  # a partial response: the time it was started
    rec["submitted_at"] = submitted
    for key in ("landed_at", "landing_id", "response_type", "form_id"):
        if key in item:
            rec[key] = item[key]
    if isinstance(item.get("metadata"), dict):
        rec.update(flatten(item["metadata"], "metadata"))
    if isinstance(item.get("calculated"), dict):
        rec.update(flatten(item["calculated"], "calculated"))
    for var in item.get("variables") or []:
        if isinstance(var, dict) and "key" in var:
            rec[f"variable_{var['key']}"] = var.get(var.get("type", ""))
    for key, value in (item.get("hidden") or {}).items():
        rec[f"hidden:{key}"] = value if not isinstance(value, dict | list) else to_json_text(value)
    answers = []
    for n, answer in enumerate(item.get("answers") or [], start=1):
        field = answer.get("field") if isinstance(answer, dict) else None
        if not isinstance(field, dict) or not (field.get("ref") or field.get("id")):
            raise SourceError(
                f"{path.name}, item {row}: answer {n} has no field ref or id; "
                "not a Typeform response"
            )
        name = str(field.get("ref") or field.get("id"))
        rec[f"answer:{name}"] = _answer_value(answer)
        answers.append((f"answer:{name}", str(field.get("type", ""))))
    return rec, answers


def _answer_value(answer: dict[str, Any]) -> Any:
    kind = answer.get("type", "")
    value = answer.get(kind)
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") if value.get("label") is not None else value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(value.get("labels") or [])
        if value.get("other"):
            labels.append(value["other"])
        return to_json_text(labels)
    if isinstance(value, dict | list):
        return to_json_text(value)
    return value


def _column_names(records: list[dict[str, Any]]) -> dict[str, str]:
    """Internal keys → column names: answers by ref, hidden fields by name unless taken."""
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    plain = {k for k in keys if not k.startswith(("answer:", "hidden:"))}
    out: dict[str, str] = {}
    taken = set(plain)
    for k in keys:
        if k.startswith("answer:"):
            name = k.removeprefix("answer:")
            if name in taken:
                name = f"answer_{name}"
            out[k] = name
            taken.add(name)
    for k in keys:
        if k.startswith("hidden:"):
            name = k.removeprefix("hidden:")
            if name in taken:
                name = f"hidden_{name}"
            out[k] = name
            taken.add(name)
    for k in plain:
        out[k] = k
    return {k: out[k] for k in keys}


def _nps_field(path: Path, fields: list[str], claims: UserClaims) -> str | None:
    if claims.takes("nps") or not fields:
        return None
    if len(fields) > 1:
        raise SourceError(
            f"{path.name}: the form has several NPS fields ({', '.join(fields)}); "
            f"choose one with --map nps={fields[0]}"
        )
    return fields[0]
