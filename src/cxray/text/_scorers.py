"""Which scorer scores: the out-of-the-box one, the VADER reference, the sentence-embedding
head, the store's domain model or a model file (:func:`resolve_model`).

Kept apart from the enrichment code so that scoring a file with the shipped model
(``cxray text score``) imports neither the store nor the statistics behind training.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from cxray.exceptions import ModelError
from cxray.text._general import GeneralSentiment
from cxray.text._lexicon import LexiconSentiment

if TYPE_CHECKING:
    from cxray.store import Store
    from cxray.text._domain import DomainSentiment

__all__ = [
    "DEFAULT_MODEL_ID",
    "LEXICON_MODEL_ID",
    "default_scorer",
    "resolve_model",
    "supported_languages",
]

DEFAULT_MODEL_ID = "general-v2"  # GeneralSentiment, shipped in the package
LEXICON_MODEL_ID = "lexicon-v1"  # LexiconSentiment, the VADER reference


def default_scorer() -> GeneralSentiment:
    """The out-of-the-box scorer (id :data:`DEFAULT_MODEL_ID`): what scores without labels."""
    return GeneralSentiment()


def supported_languages(model: Any) -> tuple[str, ...]:
    """The languages a scorer was made for (``languages_``; the out-of-the-box ones: English)."""
    return tuple(getattr(model, "languages_", None) or ("en",))


def resolve_model(
    spec: str | None, store: Store | None, *, missing_ok: bool = False
) -> tuple[GeneralSentiment | LexiconSentiment | DomainSentiment, str]:
    """The scorer named by ``spec`` and its id.

    ``None`` or ``"auto"``: the store's domain model when one is active, else
    the out-of-the-box scorer (:class:`GeneralSentiment`); ``"default"``: the
    out-of-the-box scorer; ``"lexicon"``: the VADER reference (:class:`LexiconSentiment`);
    ``"domain"``: the store's domain model (an error when there is none);
    ``"embeddings"``: the sentence-embedding head (:class:`EmbeddingSentiment`, needs
    ``cxray[text]``; chosen by name only, ``auto`` never picks it: it scores a few to
    some tens of texts per second on a small CPU);
    anything else: the path of a model file written by ``DomainSentiment.save``.
    With ``missing_ok``, a stored model this cxray cannot read counts as none.
    """
    from pathlib import Path

    from cxray.text._domain import DomainSentiment

    if spec in (None, "", "auto", "domain"):
        try:
            found = None
            if store is not None:
                from cxray.text._enrich import load_store_model

                found = load_store_model(store)
        except ModelError:
            if not missing_ok:
                raise
            found = None
        if found is not None:
            return found
        if spec == "domain":
            where = store.url if store is not None else "the store"
            raise ModelError(
                f"no domain model in {where}; run `cxray text train` first, or use --model default"
            )
        return default_scorer(), DEFAULT_MODEL_ID
    if spec == "default":
        return default_scorer(), DEFAULT_MODEL_ID
    if spec == "lexicon":
        return LexiconSentiment(), LEXICON_MODEL_ID
    if spec == "embeddings":
        from cxray.text._embed import MISSING, embeddings_available
        from cxray.text._embed_sentiment import EmbeddingSentiment

        if not embeddings_available():
            raise ModelError(f"--model embeddings: {MISSING}")
        head = EmbeddingSentiment()
        return head, head.model_id
    path = Path(spec)
    model = DomainSentiment.load(path)
    return model, "domain-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
