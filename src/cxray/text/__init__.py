"""Layer 4, text analytics: sentiment (out of the box and learned), personal-data redaction.

* :class:`LexiconSentiment` scores any text with the VADER lexicon and rules,
  vectorized over whole batches; it needs no training.
* :class:`GeneralSentiment` scores English text with a small model shipped in the
  package (customer-service lexicon and rules plus words, learned on public labelled
  feedback); it needs no training either.
* :class:`EmbeddingSentiment` (``cxray[text]``) scores English text with a shipped linear
  head over sentence embeddings; chosen by name, as it is much slower.
* :class:`DomainSentiment` learns negative / neutral / positive from a team's
  own comments and the scores beside them (NPS, CSAT, star ratings);
  :func:`evaluate_sentiment` says how much better it is on held-out texts.
* :func:`enrich_sentiment` keeps the ``text_sentiment`` table of the store up
  to date (:func:`enrich_imported`: the texts one import added or changed, run
  by every import); :func:`train_store_model` learns the domain model from the store.
* :func:`read_text_file` / :func:`score_rows` / :func:`write_scored` score a
  CSV or JSON Lines file without importing it.
* :class:`CaseCategorizer` learns a team's case categories from labelled cases.
* :class:`Taxonomy` assigns texts to the keyword themes of ``[themes.*]``;
  :func:`assign_store_themes` keeps each row's themes in the ``text_themes`` table;
  :func:`discover_themes` finds themes without one (stable ids);
  :func:`discover_embedded_themes` clusters sentence embeddings instead (``cxray[text]``);
  :func:`theme_report` measures them (share, sentiment, trend, NPS/CSAT impact).
* :func:`case_trends`: cases by category over time and emerging issues.
* :func:`faq_candidates`: recurring questions of cases, mentions and comments grouped
  into FAQ candidates, checked against the knowledge base (:func:`import_kb`).
* :func:`redact` masks e-mail addresses, phone numbers and card numbers
  (:func:`redactor`: unless ``[privacy] redact = false``).
* :data:`REPORTS` (:class:`TextReports`) keeps theme reports, their rows and case
  trends per state of the data for the API and the dashboard; :func:`score_texts`
  scores texts handed over directly.
"""

# Names are imported on first use (PEP 562), so that ``from cxray.text import
# GeneralSentiment`` loads the shipped model's module only, not the store, statistics and
# reporting code the rest of the package needs: ``cxray text score`` starts in a fraction
# of the time.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxray.text._categorize import CaseCategorizer
    from cxray.text._discover import DiscoveredTheme, discover_themes, theme_id
    from cxray.text._domain import DomainSentiment
    from cxray.text._embed import discover_embedded_themes, embeddings_available
    from cxray.text._embed_sentiment import EMBED_MODEL, EmbeddingSentiment
    from cxray.text._enrich import (
        DEFAULT_MODEL_ID,
        MODELS_TABLE,
        SENTIMENT_TABLE,
        TEXT_FIELDS,
        EnrichReport,
        TrainReport,
        default_scorer,
        enrich_imported,
        enrich_sentiment,
        labelled_texts,
        load_store_model,
        model_info,
        resolve_model,
        store_language_gaps,
        supported_languages,
        train_store_model,
    )
    from cxray.text._evaluate import (
        SentimentEvaluation,
        evaluate_sentiment,
        f1_difference,
        holdout_split,
        macro_f1_estimate,
    )
    from cxray.text._faq import FaqCandidate, FaqReport, cached_faq, faq_candidates, question_mask
    from cxray.text._files import read_text_file, score_rows, unscored_languages, write_scored
    from cxray.text._general import GENERAL_MODEL, GeneralSentiment
    from cxray.text._kb import (
        KbImport,
        articles_from_rows,
        drop_kb,
        import_kb,
        kb_articles,
        read_kb_file,
    )
    from cxray.text._labels import LABELS, label_scores, labels_from_nps, labels_from_scale
    from cxray.text._lexicon import LexiconSentiment
    from cxray.text._redact import luhn_valid, redact, redactor
    from cxray.text._reports import MAX_TEXTS, REPORTS, TextReports, score_texts
    from cxray.text._stored import THEMES_TABLE, assign_store_themes, taxonomy_scheme
    from cxray.text._taxonomy import Taxonomy, TaxonomyTheme, stem, words
    from cxray.text._themes import (
        Documents,
        ThemesReport,
        ThemeStats,
        csat_impact,
        discovery_method,
        load_documents,
        nps_impact,
        theme_report,
    )
    from cxray.text._trends import EmergingIssue, TrendsReport, case_categories, case_trends

_WHERE = {
    "CaseCategorizer": "cxray.text._categorize",
    "DEFAULT_MODEL_ID": "cxray.text._scorers",
    "DiscoveredTheme": "cxray.text._discover",
    "Documents": "cxray.text._themes",
    "DomainSentiment": "cxray.text._domain",
    "EMBED_MODEL": "cxray.text._embed_sentiment",
    "EmbeddingSentiment": "cxray.text._embed_sentiment",
    "EmergingIssue": "cxray.text._trends",
    "EnrichReport": "cxray.text._enrich",
    "FaqCandidate": "cxray.text._faq",
    "FaqReport": "cxray.text._faq",
    "GENERAL_MODEL": "cxray.text._general",
    "GeneralSentiment": "cxray.text._general",
    "KbImport": "cxray.text._kb",
    "LABELS": "cxray.text._labels",
    "LexiconSentiment": "cxray.text._lexicon",
    "MAX_TEXTS": "cxray.text._reports",
    "MODELS_TABLE": "cxray.text._enrich",
    "REPORTS": "cxray.text._reports",
    "SENTIMENT_TABLE": "cxray.text._enrich",
    "SentimentEvaluation": "cxray.text._evaluate",
    "TEXT_FIELDS": "cxray.text._enrich",
    "THEMES_TABLE": "cxray.text._stored",
    "Taxonomy": "cxray.text._taxonomy",
    "TaxonomyTheme": "cxray.text._taxonomy",
    "TextReports": "cxray.text._reports",
    "ThemeStats": "cxray.text._themes",
    "ThemesReport": "cxray.text._themes",
    "TrainReport": "cxray.text._enrich",
    "TrendsReport": "cxray.text._trends",
    "articles_from_rows": "cxray.text._kb",
    "assign_store_themes": "cxray.text._stored",
    "cached_faq": "cxray.text._faq",
    "case_categories": "cxray.text._trends",
    "case_trends": "cxray.text._trends",
    "csat_impact": "cxray.text._themes",
    "default_scorer": "cxray.text._scorers",
    "discover_embedded_themes": "cxray.text._embed",
    "discover_themes": "cxray.text._discover",
    "drop_kb": "cxray.text._kb",
    "embeddings_available": "cxray.text._embed",
    "enrich_imported": "cxray.text._enrich",
    "enrich_sentiment": "cxray.text._enrich",
    "evaluate_sentiment": "cxray.text._evaluate",
    "f1_difference": "cxray.text._evaluate",
    "faq_candidates": "cxray.text._faq",
    "holdout_split": "cxray.text._evaluate",
    "import_kb": "cxray.text._kb",
    "kb_articles": "cxray.text._kb",
    "label_scores": "cxray.text._labels",
    "labelled_texts": "cxray.text._enrich",
    "labels_from_nps": "cxray.text._labels",
    "labels_from_scale": "cxray.text._labels",
    "load_documents": "cxray.text._themes",
    "load_store_model": "cxray.text._enrich",
    "luhn_valid": "cxray.text._redact",
    "macro_f1_estimate": "cxray.text._evaluate",
    "model_info": "cxray.text._enrich",
    "nps_impact": "cxray.text._themes",
    "question_mask": "cxray.text._faq",
    "read_kb_file": "cxray.text._kb",
    "read_text_file": "cxray.text._files",
    "redact": "cxray.text._redact",
    "redactor": "cxray.text._redact",
    "resolve_model": "cxray.text._scorers",
    "score_rows": "cxray.text._files",
    "score_texts": "cxray.text._reports",
    "stem": "cxray.text._taxonomy",
    "store_language_gaps": "cxray.text._enrich",
    "supported_languages": "cxray.text._scorers",
    "taxonomy_scheme": "cxray.text._stored",
    "theme_id": "cxray.text._discover",
    "theme_report": "cxray.text._themes",
    "discovery_method": "cxray.text._themes",
    "train_store_model": "cxray.text._enrich",
    "unscored_languages": "cxray.text._files",
    "words": "cxray.text._taxonomy",
    "write_scored": "cxray.text._files",
}

__all__ = [
    "DEFAULT_MODEL_ID",
    "EMBED_MODEL",
    "GENERAL_MODEL",
    "LABELS",
    "MAX_TEXTS",
    "MODELS_TABLE",
    "REPORTS",
    "SENTIMENT_TABLE",
    "TEXT_FIELDS",
    "THEMES_TABLE",
    "CaseCategorizer",
    "DiscoveredTheme",
    "Documents",
    "DomainSentiment",
    "EmbeddingSentiment",
    "EmergingIssue",
    "EnrichReport",
    "FaqCandidate",
    "FaqReport",
    "GeneralSentiment",
    "KbImport",
    "LexiconSentiment",
    "SentimentEvaluation",
    "Taxonomy",
    "TaxonomyTheme",
    "TextReports",
    "ThemeStats",
    "ThemesReport",
    "TrainReport",
    "TrendsReport",
    "articles_from_rows",
    "assign_store_themes",
    "cached_faq",
    "case_categories",
    "case_trends",
    "csat_impact",
    "default_scorer",
    "discover_embedded_themes",
    "discover_themes",
    "discovery_method",
    "drop_kb",
    "embeddings_available",
    "enrich_imported",
    "enrich_sentiment",
    "evaluate_sentiment",
    "f1_difference",
    "faq_candidates",
    "holdout_split",
    "import_kb",
    "kb_articles",
    "label_scores",
    "labelled_texts",
    "labels_from_nps",
    "labels_from_scale",
    "load_documents",
    "load_store_model",
    "luhn_valid",
    "macro_f1_estimate",
    "model_info",
    "nps_impact",
    "question_mask",
    "read_kb_file",
    "read_text_file",
    "redact",
    "redactor",
    "resolve_model",
    "score_rows",
    "score_texts",
    "stem",
    "store_language_gaps",
    "supported_languages",
    "taxonomy_scheme",
    "theme_id",
    "theme_report",
    "train_store_model",
    "unscored_languages",
    "words",
    "write_scored",
]


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'cxray.text' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
