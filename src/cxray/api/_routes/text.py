"""Text analytics over HTTP: themes, their rows, case trends, languages, scoring, enrichment.

Reports come from :data:`cxray.text.REPORTS`, computed once per state of the
data and shared with the dashboard (the Text page shows the same numbers).
Every text returned (quotes, rows, examples) is redacted unless ``[privacy]
redact = false``. Anyone with a key may read and score; running the
enrichment writes to the store, so it needs an analyst or admin key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cxray import text
from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.config import ProgramConfig

#: the largest seed NumPy takes (2**32 - 1); a larger one is 422, not a 500
MAX_SEED = 2**32 - 1

router = APIRouter(prefix="/text", tags=["text"])
enricher = _require("analyst", "run the text enrichment")

Table = Literal["responses", "cases", "mentions"]
Source = Literal["taxonomy", "discover"]


def report_config(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
) -> ProgramConfig:
    """The program config this caller's text reports are made under (any role): quotes,
    rows and examples redacted for a key without ``pii`` unless ``[privacy] redact = false``
    (:meth:`cxray.privacy.Masking.report_config`)."""
    return who.masking(cx.ws.config).report_config(cx.ws.config)


#: a text route's config, masked by the caller's role (see :func:`report_config`)
ReportConfig = Annotated[ProgramConfig, Depends(report_config)]


class ScoreRequest(BaseModel):
    texts: list[str | None] = Field(
        description=f"the texts to score, at most {text.MAX_TEXTS:,} (nothing is stored)",
        examples=[["Great service, thank you!", "The parcel never arrived"]],
    )
    model: Literal["auto", "default", "lexicon", "domain", "embeddings"] = Field(
        "auto",
        description="auto: the store's domain model if one was learned, else default; "
        "default: the out-of-the-box scorer (general-v2); lexicon: the VADER reference "
        "(lexicon-v1); domain: the learned model (an error without one); embeddings: the "
        "sentence-embedding head (embed-v1; needs cxray[text], slower)",
    )


class EnrichRequest(BaseModel):
    model: Literal["auto", "default", "lexicon", "domain", "embeddings"] = "auto"


class TrainRequest(BaseModel):
    force: bool = Field(
        False, description="activate the new model even if it does not beat the active one"
    )
    test_size: float = Field(
        0.2, ge=0.05, le=0.5, description="share of labelled texts held out to compare"
    )
    seed: int = Field(42, ge=0, le=MAX_SEED, description="seed of the split and of the model")


trainer = _require("analyst", "train the sentiment model")


@router.get(
    "/themes",
    summary="Themes with volume, share, sentiment, trend and NPS/CSAT impact (with intervals) "
    "and quotes",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def themes(
    cx: Annotated[ApiContext, Depends(context)],
    config: ReportConfig,  # quotes: pii or not
    source: Annotated[
        Source, Query(description="taxonomy ([themes.*] of cxray.toml) or discover")
    ] = "taxonomy",
    table: Annotated[Table, Query(description="whose texts")] = "responses",
    n_themes: Annotated[
        int, Query(alias="themes", ge=2, le=50, description="themes to discover")
    ] = 8,
    seed: Annotated[
        int, Query(ge=0, le=MAX_SEED, description="seed of discovery and bootstrap")
    ] = 0,
) -> CXJSONResponse:
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        report = text.REPORTS.themes(
            ws.store, config, source=source, table=table, n_themes=n_themes, seed=seed
        )
        gaps = text.REPORTS.languages(ws.store, table)["gaps"]
    # languages: its texts' languages without a sentiment model, each with what to do
    return CXJSONResponse({**report, "languages": gaps})


@router.get(
    "/themes/{theme_id}/rows",
    summary="The rows behind a theme (drill-down): most negative first, texts redacted",
    response_class=CXJSONResponse,
    responses={
        **ERROR_RESPONSES,
        404: {"model": ErrorEnvelope, "description": "no such theme"},
    },
)
def theme_rows(
    theme_id: str,
    cx: Annotated[ApiContext, Depends(context)],
    config: ReportConfig,  # texts: pii or not
    source: Annotated[Source, Query()] = "taxonomy",
    table: Annotated[Table, Query()] = "responses",
    n_themes: Annotated[int, Query(alias="themes", ge=2, le=50)] = 8,
    seed: Annotated[int, Query(ge=0, le=MAX_SEED)] = 0,
    sentiment: Annotated[
        Literal["negative", "neutral", "positive"] | None,
        Query(description="only rows with this sentiment label"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> CXJSONResponse:
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        page = text.REPORTS.theme_rows(
            ws.store,
            config,
            theme_id,
            source=source,
            table=table,
            n_themes=n_themes,
            seed=seed,
            sentiment=sentiment,
            limit=limit,
            offset=offset,
        )
    return CXJSONResponse(page)


@router.get(
    "/trends",
    summary="Support cases by category over time and emerging issues (spikes), with examples",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def trends(
    cx: Annotated[ApiContext, Depends(context)],
    config: ReportConfig,  # examples: pii or not
    period: Annotated[Literal["week", "month"], Query()] = "week",
    baseline: Annotated[
        int, Query(ge=1, le=52, description="trailing periods a spike is compared with")
    ] = 8,
) -> CXJSONResponse:
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        report = text.REPORTS.trends(ws.store, config, period=period, baseline=baseline)
        gaps = text.REPORTS.languages(ws.store, "cases")["gaps"]
    return CXJSONResponse({**report, "languages": gaps})


@router.get(
    "/languages",
    summary="The languages of the texts: per language its texts, how many have a sentiment "
    "score and whether sentiment supports it; gaps with what to do",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def languages(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    table: Annotated[
        Table | None, Query(description="whose texts (default: every table's)")
    ] = None,
) -> CXJSONResponse:
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        return CXJSONResponse(text.REPORTS.languages(ws.store, table))


@router.post(
    "/score",
    summary="Sentiment of texts posted as JSON (label and score each); nothing is stored",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def score(
    body: ScoreRequest,
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    if body.model in ("default", "lexicon", "embeddings"):  # nothing read from the store
        return CXJSONResponse(_by_language(text.score_texts(body.texts, None, body.model), body))
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        scored = text.score_texts(body.texts, ws.store, body.model)
        supported = text.supported_languages(text.resolve_model(body.model, ws.store)[0])
    return CXJSONResponse(_by_language(scored, body, supported))


def _by_language(
    scored: dict, body: ScoreRequest, supported: tuple[str, ...] | None = None
) -> dict:
    """Each result with its text's language; a language the scorer does not support gets
    no label and no score, and a gap saying what to do."""
    from cxray.text._language import UNDETERMINED, detect_languages, language_gaps

    if supported is None:
        supported = text.supported_languages(text.default_scorer())
    codes = detect_languages(body.texts)
    ok = {*supported, UNDETERMINED}
    for r, code in zip(scored["results"], codes, strict=True):
        r["language"] = str(code)
        if code not in ok:
            r["sentiment_label"] = r["sentiment_score"] = None
    gaps = language_gaps([str(c) for c in codes], supported)
    return {**scored, "language_gaps": [g.to_dict() for g in gaps]}


@router.post(
    "/enrich",
    summary="Score every new or changed text and match its themes (analyst or admin)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def enrich(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(enricher)],
    body: EnrichRequest | None = None,
) -> CXJSONResponse:
    model = body.model if body is not None else "auto"
    with cx.lock:
        scorer, model_id = text.resolve_model(model, cx.ws.store)
        report = text.enrich_sentiment(cx.ws.store, scorer, model_id)
        themes = text.assign_store_themes(cx.ws.store, cx.ws.config)
        text.REPORTS.precompute(cx.ws.store, cx.ws.config)  # the Text page's, kept in the store
        text.REPORTS.save(cx.ws.store)
    return CXJSONResponse({**report.to_dict(), "themes": themes})


@router.get(
    "/model",
    summary="The active sentiment scorer (kind, id, when trained, n, languages, held-out "
    "macro-F1s with intervals) and the report of the last training",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def model(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        return CXJSONResponse(text.model_info(ws.store))


@router.post(
    "/train",
    summary="Learn a domain sentiment model from the store's labelled texts; it becomes active "
    "only if it beats the active scorer with its interval, or with force (analyst or admin)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def train(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(trainer)],
    body: TrainRequest | None = None,
) -> CXJSONResponse:
    body = body if body is not None else TrainRequest()
    with cx.lock:
        report = text.train_store_model(
            cx.ws.store,
            cx.ws.config,
            test_size=body.test_size,
            random_state=body.seed,
            force=body.force,
        )
    return CXJSONResponse(report.to_dict())
