"""The one exception and warning tree of cxray.

Every error cxray raises on purpose derives from :class:`CXError`; builtin
mixins keep ``except ValueError`` working for callers that expect it::

    CXError
    ├── ConfigError(CXError, ValueError)         bad cxray.toml or settings
    ├── StoreError(CXError, RuntimeError)        the store cannot be opened or written
    │   ├── SchemaVersionError                   store made by a newer cxray
    │   └── StoreLockedError                     another process holds the store
    ├── UnknownTableError(CXError, KeyError)     a table name outside the contract
    ├── NotFoundError(CXError, LookupError)      a customer, API key or other record is absent
    ├── QueryError(CXError, ValueError)          a bad request: unknown column or role, bad value
    ├── ConflictError(CXError)                   a change the record's state does not allow
                                                 (contacting a closed follow-up)
    ├── SourceError(CXError, ValueError)         a file cannot be read as the named source
    ├── ModelError(CXError, ValueError)          a text model cannot be trained, read or used
    ├── MetricError(CXError, ValueError)         a KPI or scorecard request cannot be answered
    │   ├── UnknownAttributeError                a slice attribute no table has
    │   └── UnknownMetricError                   a KPI name outside the registry
    ├── JourneyError(CXError, ValueError)        a funnel, path or graph request cannot be
    │                                            answered (a step that never occurs, one step,
    │                                            a bad window or case)
    ├── AnalysisError(CXError, ValueError)       an analysis cannot be answered as asked: an
    │                                            outcome or driver that does not exist or does
    │                                            not vary, too few rows (drivers, journeys)
    ├── ImportValidationError(CXError, ValueError)
    │                                            rows break the data contract; nothing written
    ├── AccessError(CXError)                     access control
    │   ├── AuthenticationError                  no, unknown, revoked or expired credentials
    │   ├── PermissionDeniedError                the caller's role may not do this
    │   └── RateLimitedError                     too many failed logins; ``retry_after`` seconds
    └── SurveyError(CXError)                     survey collection
        ├── SubmissionError(SurveyError, ValueError)
        │                                        answers break the survey's rules; ``details``
        ├── InvalidTokenError                    a forged or malformed invitation token
        ├── ExpiredTokenError                    an invitation past its expiry
        └── AlreadySubmittedError                a used invitation or a completed response
                                                 submitted again with other answers

    CXWarning(UserWarning)
    └── StatisticalWarning                       a result is computable but dubious

Interfaces translate these once at their boundary: the CLI prints one red line
and exits non-zero, the API answers one JSON error envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccessError",
    "AlreadySubmittedError",
    "AnalysisError",
    "AuthenticationError",
    "CXError",
    "CXWarning",
    "ConfigError",
    "ConflictError",
    "ExpiredTokenError",
    "ImportValidationError",
    "InvalidTokenError",
    "JourneyError",
    "MetricError",
    "ModelError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitedError",
    "RowError",
    "RuleSummary",
    "SchemaVersionError",
    "SourceError",
    "StatisticalWarning",
    "StoreError",
    "StoreLockedError",
    "SubmissionError",
    "SurveyError",
    "UnknownAttributeError",
    "UnknownMetricError",
    "UnknownTableError",
]


class CXError(Exception):
    """Root of every error cxray raises on purpose."""


class ConfigError(CXError, ValueError):
    """The program config (cxray.toml) or a setting is invalid."""


class StoreError(CXError, RuntimeError):
    """The store cannot be opened, migrated or written."""


class SchemaVersionError(StoreError):
    """The store was written by a newer cxray than this one."""


class StoreLockedError(StoreError):
    """Another process holds the store for writing."""


class UnknownTableError(CXError, KeyError):
    """A table name that is not one of the six canonical tables."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SourceError(CXError, ValueError):
    """A file cannot be read as the source format it was given as."""


class NotFoundError(CXError, LookupError):
    """A customer, API key or other record that the caller named does not exist."""


class QueryError(CXError, ValueError):
    """A request is malformed: an unknown sort or filter column or role, a bad value."""


class ConflictError(CXError):
    """A change that the current state of a record does not allow: contacting or closing a
    follow-up that is already closed. Nothing was written."""


class AnalysisError(CXError, ValueError):
    """An analysis (key drivers, moments of truth, journeys) cannot be answered as asked."""


class AccessError(CXError):
    """Root of the access-control errors (API keys, sessions, login)."""


class AuthenticationError(AccessError):
    """No credentials, or a key or session that is unknown, revoked or expired."""


class PermissionDeniedError(AccessError):
    """The caller is known, but their role may not do this (a viewer importing)."""


class RateLimitedError(AccessError):
    """Too many failed logins from one client; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class MetricError(CXError, ValueError):
    """A KPI or scorecard request cannot be answered (bad date, period, attribute...)."""


class UnknownAttributeError(MetricError):
    """A slice attribute that no table the KPIs read has."""


class UnknownMetricError(MetricError):
    """A KPI name that is not in the registry."""


class JourneyError(CXError, ValueError):
    """A funnel, path or graph request cannot be answered: a step that never occurs, a
    funnel of one step, a bad ``within`` window, an unknown case column."""


class ModelError(CXError, ValueError):
    """A text model cannot be trained (too little or one-sided data), read or applied."""


class SurveyError(CXError):
    """Root of the errors of survey collection."""


class SubmissionError(SurveyError, ValueError):
    """Answers that break the survey's rules; ``details`` lists each (question, value, rule)."""

    def __init__(self, message: str, details: list[dict[str, object]] | None = None):
        super().__init__(message)
        self.details = details or []


class InvalidTokenError(SurveyError):
    """An invitation token that was not issued by this store (forged, altered, malformed)."""


class ExpiredTokenError(SurveyError):
    """An invitation token past its expiry."""


class AlreadySubmittedError(SurveyError):
    """An invitation already answered, or a completed response sent again with other answers."""


@dataclass(frozen=True)
class RowError:
    """One broken rule in one cell of an input file."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        shown = "" if self.value is None else f": value {self.value!r}"
        return f"{', '.join(where)}{shown}: {self.rule}"


@dataclass(frozen=True)
class RuleSummary:
    """How often one rule failed in one file, with the first failing cell."""

    first: RowError
    count: int


class ImportValidationError(CXError, ValueError):
    """Rows of an import break the data contract; nothing was written.

    ``errors`` holds one :class:`RuleSummary` per (file, column, rule) with
    the count of failing rows and the first failing cell.
    """

    def __init__(self, errors: list[RuleSummary], *, total_rows: int | None = None):
        self.errors = errors
        self.total_rows = total_rows
        super().__init__(self._message())

    @property
    def failed(self) -> int:
        return sum(e.count for e in self.errors)

    def _message(self) -> str:
        if len(self.errors) == 1 and self.errors[0].count == 1:
            return f"{self.errors[0].first}. Nothing was written."
        lines = [f"{self.failed} problem(s) found; nothing was written:"]
        for e in self.errors[:20]:
            more = f" ({e.count} rows; first shown)" if e.count > 1 else ""
            lines.append(f"  - {e.first}{more}")
        if len(self.errors) > 20:
            lines.append(f"  - ... and {len(self.errors) - 20} more kinds of problem")
        return "\n".join(lines)


class CXWarning(UserWarning):
    """Root of the warnings cxray issues."""


class StatisticalWarning(CXWarning):
    """A result is computable but dubious (small n, sparse cells, ...)."""
