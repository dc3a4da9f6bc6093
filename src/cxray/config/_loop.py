"""The closed loop's rules (``[[loop.rules]]`` in ``cxray.toml``): what to watch, whom to tell.

A rule watches new rows of ``responses``, ``cases`` or ``mentions`` (``where`` is a
condition on the row, such as ``nps <= 6`` or ``reopened == true and channel == "email"``),
a KPI (``metric``, firing when it is worse than its action threshold or changes
significantly), emerging case issues, or customers whose churn risk rises (``churn_risk``:
at or above ``min_risk``, valued at or above ``min_value``). What it does: open a follow-up
for a person or a team (``followup``), notify (``notify``: e-mail addresses, webhooks,
Slack-compatible incoming webhooks), or both. Routing, an SLA, quiet hours and a daily cap
complete it.

A condition is a small expression: comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, ``in``, ``not in``) of a column with a number, a quoted text, ``true``/``false`` or
a list, joined by ``and``, ``or`` and ``not``, with brackets. It is parsed here, when the
config is read, so a typo is an error naming the rule and the word; columns that only the
store knows (survey questions kept as attributes) are checked when the loop first runs
against it. Definitions and examples: ``docs/loop.md``.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "CONDITION_NAMES",
    "Comparison",
    "Condition",
    "LoopConfig",
    "LoopRule",
    "NotifyTarget",
    "check_names",
    "parse_condition",
    "parse_duration",
]

RuleSource = Literal["responses", "cases", "mentions", "kpi", "emerging", "churn_risk"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

#: names a condition may use on each table, besides its attribute columns, with their kinds
#: (``number``, ``text``, ``flag``); ``sentiment`` is the row's text sentiment label
#: (negative, neutral, positive) and ``theme`` a taxonomy theme of its text
CONDITION_NAMES: dict[str, dict[str, str]] = {
    "responses": {
        "response_id": "text", "customer_id": "text", "survey": "text", "touchpoint": "text",
        "channel": "text", "nps": "number", "csat": "number", "ces": "number",
        "comment": "text", "sentiment": "text", "theme": "text", "completed": "flag",
        "language": "text",
    },
    "cases": {
        "case_id": "text", "customer_id": "text", "channel": "text", "category": "text",
        "priority": "text", "status": "text", "contacts": "number", "reopened": "flag",
        "team": "text", "agent": "text", "root_cause": "text",
        "first_response_hours": "number", "resolution_hours": "number",
        "sentiment": "text", "theme": "text",
    },
    "mentions": {
        "mention_id": "text", "customer_id": "text", "platform": "text", "author": "text",
        "text": "text", "rating": "number", "sentiment": "text", "theme": "text",
    },
}  # fmt: skip

_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


@dataclass(frozen=True)
class Comparison:
    """``name op value``: a column (or ``sentiment``, ``theme``) against a constant."""

    name: str
    op: str
    value: Any


@dataclass(frozen=True)
class Condition:
    """``and`` / ``or`` of parts, or ``not`` of one part."""

    op: Literal["and", "or", "not"]
    parts: tuple[Condition | Comparison, ...]

    def names(self) -> set[str]:
        out: set[str] = set()
        for p in self.parts:
            out |= p.names() if isinstance(p, Condition) else {p.name}
        return out


def parse_condition(text: str) -> Condition:
    """A condition from its text (see the module docstring); ``ValueError`` saying what is
    wrong and where."""
    try:
        tree = ast.parse(_python_words(text).strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not a condition: {text!r} ({exc.msg} at column {exc.offset})") from None
    node = _node(tree, text)
    return node if isinstance(node, Condition) else Condition("and", (node,))


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Condition:
    """:func:`parse_condition`, once per text (conditions are immutable): rules are
    evaluated on every row of every survey commit."""
    return parse_condition(text)


@functools.lru_cache(maxsize=256)
def _targets(texts: tuple[str, ...]) -> tuple[NotifyTarget, ...]:
    """The parsed targets of a rule, once per rule (asked for every trigger)."""
    return tuple(NotifyTarget.parse(t) for t in texts)


_WORDS = {"true": "True", "false": "False", "null": "None"}


def _python_words(text: str) -> str:
    """``true``, ``false`` and ``null`` (outside quotes) as Python's own words."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError):
        return text  # the parser reports it
    out = [
        (t.type, _WORDS.get(t.string, t.string)) if t.type == tokenize.NAME else (t.type, t.string)
        for t in tokens
    ]
    return tokenize.untokenize(out)


def _constant(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, int | float | str | bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand, text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(_constant(e, text) for e in node.elts)
    raise ValueError(
        f"{text!r}: compare a column with a number, a quoted text, true/false or a list "
        f"(found {ast.unparse(node)!r})"
    )


def _node(node: ast.AST, text: str) -> Condition | Comparison:
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return Condition(op, tuple(_node(v, text) for v in node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Condition("not", (_node(node.operand, text),))
    if isinstance(node, ast.Compare):
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _OPS:
                raise ValueError(f"{text!r}: unknown comparison {ast.unparse(node)!r}")
            if isinstance(left, ast.Name):
                name, value, sym = left.id, _constant(right, text), _OPS[type(op)]
            elif isinstance(right, ast.Name) and type(op) not in (ast.In, ast.NotIn):
                flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
                name, value = right.id, _constant(left, text)
                sym = flip.get(_OPS[type(op)], _OPS[type(op)])
            else:
                raise ValueError(f"{text!r}: each comparison needs a column name on one side")
            if sym in ("in", "not in") and not isinstance(value, tuple):
                raise ValueError(f'{text!r}: {sym!r} needs a list, such as ["email", "chat"]')
            if sym not in ("==", "!=", "in", "not in") and not (
                isinstance(value, int | float) and not isinstance(value, bool)
            ):
                raise ValueError(f"{text!r}: {name} {sym} needs a number")
            parts.append(Comparison(name, sym, value))
            left = right
        return parts[0] if len(parts) == 1 else Condition("and", tuple(parts))
    raise ValueError(
        f"{text!r}: use comparisons such as nps <= 6 joined by and, or, not "
        f"(found {ast.unparse(node)!r})"
    )


def check_names(cond: Condition, table: str, columns: dict[str, str]) -> None:
    """Every name of ``cond`` is one of ``columns`` (name -> kind) and compared with a value
    of its kind; ``ValueError`` naming the first that is not."""
    for part in _comparisons(cond):
        kind = columns.get(part.name)
        if kind is None:
            known = ", ".join(sorted(columns))
            raise ValueError(f"unknown column {part.name!r} of {table} (known: {known})")
        values = part.value if isinstance(part.value, tuple) else (part.value,)
        for v in values:
            if v is None:
                continue
            ok = (
                (kind == "number" and isinstance(v, int | float) and not isinstance(v, bool))
                or (kind == "flag" and isinstance(v, bool))
                or (kind == "text" and isinstance(v, str))
            )
            if not ok:
                want = {"number": "a number", "flag": "true or false", "text": "a quoted text"}
                raise ValueError(f"{part.name} is {want[kind]}, not {v!r}")


def _comparisons(cond: Condition) -> list[Comparison]:
    out: list[Comparison] = []
    for p in cond.parts:
        out += _comparisons(p) if isinstance(p, Condition) else [p]
    return out


def parse_duration(text: str) -> dt.timedelta:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"1d"`` as a duration."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 2h, 1d)")
    value, unit = float(m.group(1)), m.group(2)
    return dt.timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


@dataclass(frozen=True)
class NotifyTarget:
    """Where a notification goes: ``email:ADDRESS``, ``webhook:URL`` or ``slack:URL``."""

    kind: Literal["email", "webhook", "slack"]
    address: str

    @classmethod
    def parse(cls, text: str) -> NotifyTarget:
        kind, sep, address = str(text).partition(":")
        kind = kind.strip().lower()
        address = address.strip()
        if not sep or kind not in ("email", "webhook", "slack"):
            raise ValueError(f"notify target {text!r}: use email:ADDRESS, webhook:URL or slack:URL")
        if kind == "email":
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address):
                raise ValueError(f"notify target {text!r}: not an e-mail address")
        else:
            parts = urlsplit(address)
            try:
                parts.port  # noqa: B018 (a port out of range raises)
            except ValueError:
                raise ValueError(f"notify target {text!r}: not a port number") from None
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or any(ch.isspace() for ch in address)
            ):
                raise ValueError(f"notify target {text!r}: not an http(s) URL")
        return cls(kind, address)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.address}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rule(info: ValidationInfo) -> str:
    """``rule 'NAME': `` for a message about a rule's field (its name, when valid)."""
    name = info.data.get("name")
    return f"rule {name!r}: " if name else ""


class LoopRule(_Model):
    """One rule of the closed loop (see the module docstring)."""

    name: str
    #: what it watches: new rows of responses, cases or mentions; a KPI; emerging case issues
    on: RuleSource
    #: a condition on the row (row rules; empty: every new row)
    where: str | None = None
    #: KPI rules: the KPI (``nps``, ``csat``, ``fcr``, ... as in ``cxray scorecard``)
    metric: str | None = None
    #: KPI rules: fire when the KPI is worse than its action threshold, or changed
    #: significantly from the previous period (Benjamini-Hochberg across slices)
    when: Literal["action", "significant_change"] = "action"
    #: KPI rules: per value of this attribute (every region, say), else overall
    by: str | None = None
    #: KPI and emerging-issue rules: the period compared
    period: Literal["day", "week", "month"] = "week"
    #: churn-risk rules: a customer fires when their churn probability (0-1) reaches this
    min_risk: float | None = None
    #: churn-risk rules: ... and their value (CLV, else revenue to date) reaches this (0)
    min_value: float | None = None
    #: churn-risk rules: only the N riskiest qualifying customers of each check
    top: int | None = None
    #: open a follow-up, notify, or both
    action: Literal["followup", "notify", "both"] = "both"
    notify: tuple[str, ...] = ()
    #: who follows up: a person, and/or a team
    owner: str | None = None
    team: str | None = None
    #: route by an attribute of the row or its customer: value -> owner ("team:NAME" for a team)
    route_by: str | None = None
    routes: dict[str, str] = Field(default_factory=dict)
    #: hours to the follow-up's due time
    sla_hours: float = Field(default=48, gt=0)
    #: local times ("22:00-07:00") in which notifications wait (follow-ups still open)
    quiet_hours: str | None = None
    #: at most this many notifications a day (alerts beyond are recorded, not sent)
    cap_per_day: int | None = Field(default=None, ge=1)
    title: str | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"rule name {v!r}: use lower-case letters, digits, '_' and '-'")
        return v

    @field_validator("where")
    @classmethod
    def _where(cls, v: str | None, info: ValidationInfo) -> str | None:
        on = info.data.get("on")
        if v is None or on is None:
            return v
        try:
            if on not in CONDITION_NAMES:
                raise ValueError(
                    f"where applies to rules on responses, cases or mentions, not {on}"
                )
            cond = parse_condition(v)
            known = CONDITION_NAMES[on]
            for part in _comparisons(cond):  # attributes are checked against the store
                if part.name in known:
                    check_names(Condition("and", (part,)), on, known)
        except ValueError as exc:
            raise ValueError(f"{_rule(info)}{exc}") from None
        return v

    @field_validator("notify")
    @classmethod
    def _targets(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for t in v:
            try:
                NotifyTarget.parse(t)
            except ValueError as exc:
                raise ValueError(f"{_rule(info)}{exc}") from None
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        parts = v.replace(" ", "").split("-")
        if len(parts) != 2 or not all(_CLOCK.match(p) for p in parts):
            raise ValueError(f"{_rule(info)}quiet_hours {v!r}: use HH:MM-HH:MM, e.g. 22:00-07:00")
        if parts[0] == parts[1]:
            raise ValueError(
                f"{_rule(info)}quiet_hours {v!r} starts and ends at the same time; "
                "leave quiet_hours out for none"
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> LoopRule:
        try:
            self._check_consistent()
        except ValueError as exc:
            raise ValueError(f"rule {self.name!r}: {exc}") from None
        return self

    def _check_consistent(self) -> None:
        if self.on == "kpi" and not self.metric:
            raise ValueError('a KPI rule needs metric (e.g. metric = "nps")')
        if self.on != "kpi" and (self.metric or self.by):
            raise ValueError('metric and by apply to KPI rules (on = "kpi")')
        if self.on == "churn_risk":
            if self.min_risk is None:
                raise ValueError(
                    "a churn-risk rule needs min_risk, a probability from 0 to 1 "
                    "(e.g. min_risk = 0.5)"
                )
            if not 0.0 <= self.min_risk <= 1.0:
                raise ValueError(
                    f"min_risk is a probability from 0 to 1 (0.5 = 50 %), not {self.min_risk:g}"
                )
            if self.min_value is not None and not (0.0 <= self.min_value < float("inf")):
                raise ValueError(
                    f"min_value is a customer's value (0 or more), not {self.min_value:g}"
                )
            if self.top is not None and self.top < 1:
                raise ValueError(f"top is a number of customers (1 or more), not {self.top}")
        else:
            given = [k for k in ("min_risk", "min_value", "top") if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to "
                    'churn-risk rules (on = "churn_risk")'
                )
        if self.action == "notify" and not self.notify:
            raise ValueError('action = "notify" needs notify targets')
        if self.routes and not self.route_by:
            raise ValueError("routes need route_by (the attribute they route by)")

    @property
    def condition(self) -> Condition | None:
        return None if self.where is None else _parsed(self.where)

    @property
    def targets(self) -> list[NotifyTarget]:
        return list(_targets(tuple(self.notify)))

    @property
    def opens_followups(self) -> bool:
        return self.action in ("followup", "both")

    @property
    def notifies(self) -> bool:
        return self.action in ("notify", "both") and bool(self.notify)


class LoopConfig(_Model):
    """``[loop]``: the rules and how the loop runs."""

    #: how often ``cxray serve`` checks KPI, emerging-issue and churn-risk rules (and delivers
    #: what waits)
    check_every: str = "15m"
    #: notifications that fail are tried again after 30 s, 1 min, 2 min, ... up to this many
    max_attempts: int = Field(default=10, ge=1)
    retry_base_seconds: float = Field(default=30, gt=0)
    #: the environment variable holding the webhook signing secret (else the store's own,
    #: shown by ``cxray loop secret``)
    webhook_secret_env: str = "CXRAY_WEBHOOK_SECRET"
    rules: tuple[LoopRule, ...] = ()

    @field_validator("check_every")
    @classmethod
    def _every(cls, v: str) -> str:
        if parse_duration(v).total_seconds() < 1:
            raise ValueError("check_every must be at least 1s")
        return v

    @field_validator("rules")
    @classmethod
    def _unique(cls, v: tuple[LoopRule, ...]) -> tuple[LoopRule, ...]:
        seen: set[str] = set()
        for r in v:
            if r.name in seen:
                raise ValueError(f"two rules are named {r.name!r}")
            seen.add(r.name)
        return v

    @property
    def interval(self) -> dt.timedelta:
        return parse_duration(self.check_every)
