"""The API's routers, one module per area; ``cxray.api._app`` mounts them under ``/api``.

| module | endpoints |
|---|---|
| ``system`` | ``GET /health`` (public), ``GET /status`` |
| ``session`` | ``POST /login`` (public, rate-limited), ``POST /logout``, ``GET /me`` |
| ``keys`` | ``GET/POST /keys``, ``DELETE /keys/{id}`` (admin) |
| ``tables`` | ``GET /tables/{table}/rows``, ``GET /tables/{table}/export`` |
| ``customers`` | ``GET /customers/{customer_id}`` |
| ``privacy`` | ``DELETE /customers/{customer_id}`` (admin: erase), ``GET /privacy/erasures``,
  ``GET /privacy/retention`` (admin) over ``Workspace.privacy`` |
| ``imports`` | ``POST /imports/{table}`` (analyst) |
| ``scorecard`` | ``GET /scorecard`` over ``Workspace.scorecard`` (the records of
  ``cxray scorecard --format json``) |
| ``kpis`` | ``GET /kpis``: every KPI (built-in and ``[kpis.NAME]`` from config) with its
  definition, direction and targets |
| ``benchmarks`` | ``GET /benchmarks``: the industry benchmark sets (shipped and
  ``[benchmarks.NAME]``) with figures, targets and sources |
| ``drivers`` | ``GET /drivers``, ``GET /drivers/moments``, ``GET /drivers/features`` over
  ``Workspace.drivers`` (key drivers, moments of truth, the feature catalogue) |
| ``journeys`` | ``GET /journeys/funnel``, ``/journeys/paths``, ``/journeys/graph``,
  ``/journeys/outcomes``, ``/journeys/touchpoints`` over ``Workspace.journeys`` |
| ``loop`` | ``GET /followups``, ``GET /followups/{id}``, ``POST /followups/{id}/assign``,
  ``/contact``, ``/notes``, ``/close`` (analyst), ``GET /alerts``, ``POST /loop/run``
  (analyst) over ``Workspace.loop`` |
| ``churn`` | ``GET /churn/reasons``, ``GET /churn/survival``, ``GET /churn/cox`` over
  ``Workspace.churn`` (stated reasons, Kaplan-Meier curves and log-rank tests, the Cox model) |
| ``churn_risk`` | ``POST /churn/model`` (analyst), ``GET /churn/model``, ``GET /churn/risk``
  over ``Workspace.churn.risk`` (train and keep the churn-risk model; scores with reasons) |
| ``clv`` | ``GET /clv/fit``, ``POST /clv/fit`` (analyst), ``GET /clv/customers``,
  ``GET /clv/summary`` over ``Workspace.value`` (the kept lifetime-value fit; CLV per customer) |
| ``text_faq`` | ``GET /text/faq`` (FAQ candidates and their articles), ``GET /text/kb``,
  ``POST /text/kb`` (analyst: knowledge-base articles, all or nothing) |
| ``money`` | ``GET /clv/by-nps-group``, ``/clv/at-risk``, ``/clv/what-if``, ``/clv/roi`` over
  ``Workspace.value.money`` (churn cost and CLV by NPS group, revenue at risk, the what-if, ROI) |
| ``maturity`` | ``GET /maturity`` (latest and history), ``GET /maturity/questions``,
  ``POST /maturity`` (analyst: answers assessed with the store's evidence, kept) over
  ``Workspace.maturity`` |
| ``views`` | ``GET/POST /views``, ``GET/PUT/DELETE /views/{slug}``, ``GET/PUT /views/defaults``
  (admin) over ``Workspace.views`` (saved views: named pages with their filters, role defaults) |
| ``reports`` | ``GET /reports`` (the archive), ``GET /reports/{id}`` (a digest's file),
  ``POST /reports`` (analyst: generate now) over ``Workspace.reports`` |
"""
