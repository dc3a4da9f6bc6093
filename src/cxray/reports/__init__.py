"""Layer 5, reports: the executive digest of a period, rendered and kept.

* :func:`build_digest` assembles a :class:`Digest` from the workspace: KPI changes with
  significance and status against target (and benchmark when the scorecard has one), top
  drivers, themes and emerging issues, alerts and follow-ups, churn and revenue at risk;
  each section says when its data is absent.
* :func:`render` turns it into Markdown, HTML or PDF with its charts as PNG images.
* :class:`Reports` (``ws.reports``) generates, archives (``_cx_reports_archive``), lists
  and e-mails digests; :class:`ReportScheduler` runs ``[reports.NAME]`` inside
  ``cxray serve`` (``docs/reports.md``).
"""

from cxray.config._reports import ReportPeriod, ReportSchedule, parse_every, resolve_period
from cxray.reports._digest import Digest, Section, build_digest
from cxray.reports._render import render
from cxray.reports._schedule import ReportScheduler, due_runs, next_run
from cxray.reports._service import ARCHIVE, Report, Reports

__all__ = [
    "ARCHIVE",
    "Digest",
    "Report",
    "ReportPeriod",
    "ReportSchedule",
    "ReportScheduler",
    "Reports",
    "Section",
    "build_digest",
    "due_runs",
    "next_run",
    "parse_every",
    "render",
    "resolve_period",
]
