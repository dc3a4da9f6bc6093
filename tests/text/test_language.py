"""Language detection: real data of known languages, scripts, stop words and the gap messages."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from cxray.text._language import (
    UNDETERMINED,
    detect_languages,
    language_counts,
    language_gaps,
    language_name,
    stopwords,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _column(path: Path, name: str) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [r[name] for r in csv.DictReader(f) if r.get(name)]


def _shares(texts: list[str]) -> Counter:
    codes = detect_languages(texts)
    return Counter({k: v / len(texts) for k, v in Counter(codes.tolist()).items()})


def test_short_examples_and_scripts():
    texts = [
        "The parcel was late and nobody answered the phone",
        "O produto chegou antes do prazo e a entrega foi ótima",
        "El pedido llegó tarde y nadie contestó",
        "Die Lieferung war zu spät und der Service ist nicht gut",
        "La livraison est arrivée en retard et le service est nul",
        "Посылка пришла поздно",
        "配送が遅れました",
        "快递太慢了",
        "배송이 늦었어요",
        "ok",
        "",
        None,
    ]
    assert detect_languages(texts).tolist() == [
        "en", "pt", "es", "de", "fr", "ru", "ja", "zh", "ko",
        UNDETERMINED, UNDETERMINED, UNDETERMINED,
    ]  # fmt: skip


def test_handles_urls_and_numbers_do_not_decide():
    codes = detect_languages(["@united 3 hours on hold https://t.co/xyz", "#fail 12345 :("])
    assert set(codes.tolist()) <= {"en", UNDETERMINED}


def test_same_text_same_code_whatever_the_batch():
    a = detect_languages(["I love this dress and the fit is great"])
    b = detect_languages(["Adorei o vestido", "I love this dress and the fit is great", "x"])
    assert a[0] == b[1] == "en"


def test_short_texts_take_the_language_of_their_batch():
    """A short text with no language of its own takes the main language of the texts it
    came with; one whose words point elsewhere, or of one word, stays undetermined."""
    reviews = [
        f"O produto chegou {d} e a entrega foi {q}"
        for d in ("antes do prazo", "no prazo", "com atraso", "ontem", "hoje")
        for q in ("ótima", "boa", "ruim", "rápida", "péssima")
    ]
    short = ["produto entregue no prazo", "veio quebrado péssimo atendimento", "love it", "ok"]
    alone = detect_languages(short).tolist()
    assert alone == [UNDETERMINED] * 4
    batch = detect_languages(reviews + short).tolist()
    assert set(batch[: len(reviews)]) == {"pt"}
    assert batch[len(reviews) :] == ["pt", "pt", UNDETERMINED, UNDETERMINED]
    # without context, or with too few determined texts around, nothing is borrowed
    assert detect_languages(reviews + short, context=False).tolist()[len(reviews) :] == alone
    assert detect_languages(reviews[:10] + short).tolist()[10:] == alone


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent")
def test_real_english_sets_are_english():
    sets = {
        "clothing": _column(
            DATA / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv",
            "Review Text",
        ),
        "banking77": _column(DATA / "banking77" / "test.csv", "text"),
        "airline": _column(
            DATA / "sentiment_train" / "british_airways_reviews" / "BA_AirlineReviews.csv",
            "ReviewBody",
        ),
    }
    for name, texts in sets.items():
        shares = _shares(texts)
        other = 1 - shares["en"] - shares[UNDETERMINED]
        assert shares["en"] >= 0.95, (name, shares.most_common(4))
        assert other < 0.01, (name, shares.most_common(4))


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent")
def test_real_portuguese_reviews_are_never_english():
    texts = _column(
        DATA / "olist" / "olist_classified_public_dataset.csv", "review_comment_message"
    )
    shares = _shares(texts)
    assert shares["pt"] >= 0.6, shares.most_common(4)
    assert shares["en"] < 0.01, shares.most_common(4)
    # the undetermined are short: a median of at most 6 words
    codes = detect_languages(texts)
    und = [len(t.split()) for t, c in zip(texts, codes, strict=True) if c == UNDETERMINED]
    assert np.median(und) <= 6
    # reviews of 4 to 7 words: Portuguese by their batch, though a third have too few
    # function words to be told on their own
    short = [t for t in texts if 4 <= len(t.split()) <= 7]
    alone = Counter(detect_languages(short, context=False).tolist())
    together = Counter(c for t, c in zip(texts, codes, strict=True) if 4 <= len(t.split()) <= 7)
    assert alone[UNDETERMINED] / len(short) > 0.25, alone.most_common(3)
    assert together["pt"] / len(short) >= 0.95, together.most_common(3)


def test_stopwords():
    assert {"the", "and", "is"} <= stopwords("en")
    assert {"que", "um", "não"} <= stopwords("pt")
    assert "delivery" not in stopwords("en") and "entrega" not in stopwords("pt")
    assert stopwords("xx") == frozenset() and stopwords(UNDETERMINED) == frozenset()


def test_counts_and_gaps():
    codes = ["en"] * 5 + ["pt"] * 3 + ["und"] * 2 + ["es"]
    counts = language_counts(codes, {"en"})
    assert [(c.code, c.n, c.supported) for c in counts] == [
        ("en", 5, True), ("pt", 3, False), ("und", 2, True), ("es", 1, False),
    ]  # fmt: skip
    assert abs(sum(c.share for c in counts) - 1) < 1e-12
    gaps = language_gaps(codes, {"en"})
    assert [(g.code, g.n) for g in gaps] == [("pt", 3), ("es", 1)]
    assert gaps[0].message == (
        "Portuguese: 3 texts; sentiment needs a trained model: `cxray text train`"
    )
    assert language_gaps(codes, {"en", "pt", "es"}) == []
    assert language_name("pt") == "Portuguese" and language_name("xx") == "xx"
