"""Rebuild the shipped general sentiment model from public labelled feedback.

    python -m cxray.text._train_general --data ../shared/data \\
        --out src/cxray/text/models/general-v2.npz

Seeded and deterministic: the same data give the same file (byte for byte, but for
the JSON header's cxray version). The two neutral rules of the model are chosen on the
training sets only, each left out in turn (:func:`choose_rules`), so training learns five
models (a few minutes). The sets read here, their labels and licenses:

* ``clothing`` -- ``womens_clothing_reviews/``: women's clothing e-commerce reviews,
  ``Rating`` 1-2 negative, 3 neutral, 4-5 positive. MIT (source repo), CC0 upstream.
* ``uci_amazon``, ``uci_imdb`` -- ``sentiment_train/uci_sentiment_sentences/``: single
  sentences, 0 negative, 1 positive (no neutral). CC BY 4.0 (UCI).
* ``banking_support`` -- ``banking77/train.csv``: online-banking support queries. They
  carry intents, not sentiment; the intents are mapped to classes by what they are:
  informational requests ("how do I activate my card?") neutral, reports of a
  problem ("my card payment was declined") negative, the rest left out
  (:data:`BANKING_NEUTRAL`, :data:`BANKING_NEGATIVE`). This is where the model learns the
  neutral of a question without sentiment, which star-rated reviews never show.
  CC BY 4.0.
* ``alexa``, ``chatgpt``, ``british_airways`` -- ``sentiment_train/``: product, app and
  airline reviews; stars 1-2 / 3 / 4-5, British Airways' ``OverallRating`` 1-4 negative,
  5-6 neutral, 7-10 positive. License **not stated**: used only with ``--not-stated``.
* ``financial_phrasebank`` (66Agree) -- CC BY-NC-SA 3.0, non-commercial: evaluation only,
  never trained on (:data:`EVAL_ONLY`).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cxray.exceptions import ModelError

__all__ = [
    "ALLOWED",
    "BANKING_NEGATIVE",
    "BANKING_NEUTRAL",
    "EVAL_ONLY",
    "LICENSES",
    "MAX_PER_SET",
    "NOT_STATED",
    "RULE_GRID",
    "Domain",
    "choose_rules",
    "load_domain",
    "load_domains",
    "main",
    "train_general",
]

#: the most texts taken from one set (a seeded sample)
MAX_PER_SET = 8000
#: clearly licensed for a shipped model
ALLOWED = ("clothing", "uci_amazon", "uci_imdb", "banking_support")
#: license not stated: measured, shipped only if clearly better
NOT_STATED = ("alexa", "chatgpt", "british_airways")
#: non-commercial: evaluation only
EVAL_ONLY = ("financial_phrasebank",)
#: the domains with sentiment labels given by people (banking_support's are derived)
EVALUATED = (
    "clothing",
    "uci_amazon",
    "uci_imdb",
    "alexa",
    "chatgpt",
    "british_airways",
    "financial_phrasebank",
)

LICENSES = {
    "clothing": "MIT (source repository); CC0 upstream (Kaggle)",
    "uci_amazon": "CC BY 4.0 (UCI Machine Learning Repository)",
    "uci_imdb": "CC BY 4.0 (UCI Machine Learning Repository)",
    "banking_support": "CC BY 4.0 (PolyAI BANKING77)",
    "alexa": "not stated",
    "chatgpt": "not stated",
    "british_airways": "not stated",
    "financial_phrasebank": "CC BY-NC-SA 3.0 (non-commercial: evaluation only)",
}

#: BANKING77 intents that ask for information: neutral
BANKING_NEUTRAL = frozenset(
    str.split(
        "exchange_rate fiat_currency_support card_delivery_estimate automatic_top_up "
        "exchange_via_app age_limit top_up_by_bank_transfer_charge top_up_limits "
        "supported_cards_and_currencies getting_virtual_card card_acceptance edit_personal_details "
        "why_verify_identity get_physical_card visa_or_mastercard topping_up_by_card "
        "disposable_card_limits atm_support transfer_timing change_pin receiving_money "
        "transfer_into_account verify_top_up getting_spare_card top_up_by_cash_or_cheque "
        "order_physical_card get_disposable_virtual_card top_up_by_card_charge activate_my_card "
        "card_about_to_expire apple_pay_or_google_pay verify_my_identity country_support "
        "verify_source_of_funds card_linking"
    )
)
#: BANKING77 intents that report something gone wrong: negative
BANKING_NEGATIVE = frozenset(
    str.split(
        "card_not_working lost_or_stolen_card pin_blocked contactless_not_working "
        "wrong_amount_of_cash_received transfer_not_received_by_recipient top_up_reverted "
        "balance_not_updated_after_cheque_or_cash_deposit card_payment_not_recognised "
        "unable_to_verify_identity compromised_card direct_debit_payment_not_recognised "
        "declined_cash_withdrawal declined_transfer Refund_not_showing_up declined_card_payment "
        "card_swallowed transaction_charged_twice beneficiary_not_allowed failed_transfer "
        "virtual_card_not_working wrong_exchange_rate_for_cash_withdrawal top_up_failed "
        "balance_not_updated_after_bank_transfer cash_withdrawal_not_recognised "
        "card_payment_wrong_exchange_rate extra_charge_on_statement"
    )
)


@dataclass
class Domain:
    """One labelled set: texts and labels (negative / neutral / positive)."""

    name: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def _stars(rating: float) -> str:
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def _add(d: Domain, text: str | None, label: str, seen: set[str]) -> None:
    text = (text or "").strip()
    if text and text not in seen:  # exact duplicates would leak between folds and splits
        seen.add(text)
        d.texts.append(text)
        d.labels.append(label)


def load_domain(name: str, data: str | Path) -> Domain:
    """Read one set from the shared data folder (see the module's docstring)."""
    data = Path(data)
    d, seen = Domain(name), set()
    if name == "clothing":
        p = data / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv"
        with _open(p) as f:
            for row in csv.DictReader(f):
                _add(d, row.get("Review Text"), _stars(int(row["Rating"])), seen)
    elif name in ("uci_amazon", "uci_imdb"):
        fname = "amazon_cells_labelled.txt" if name == "uci_amazon" else "imdb_labelled.txt"
        p = data / "sentiment_train" / "uci_sentiment_sentences" / fname
        with _open(p) as f:
            for line in f:
                text, _, lab = line.rstrip("\n").rpartition("\t")
                if lab.strip() in ("0", "1"):
                    _add(d, text, "positive" if lab.strip() == "1" else "negative", seen)
    elif name == "banking_support":
        p = data / "banking77" / "train.csv"
        with _open(p) as f:
            for row in csv.DictReader(f):
                cat = row["category"]
                if cat in BANKING_NEUTRAL:
                    _add(d, row["text"], "neutral", seen)
                elif cat in BANKING_NEGATIVE:
                    _add(d, row["text"], "negative", seen)
    elif name == "alexa":
        p = data / "sentiment_train" / "amazon_alexa_reviews" / "amazon_alexa.tsv"
        with _open(p, encoding="utf-8-sig") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                _add(d, row.get("verified_reviews"), _stars(int(row["rating"])), seen)
    elif name == "chatgpt":
        p = data / "sentiment_train" / "chatgpt_app_reviews" / "chatgpt_reviews.csv"
        with _open(p) as f:
            for row in csv.DictReader(f):
                _add(d, row.get("review"), _stars(int(row["rating"])), seen)
    elif name == "british_airways":
        p = data / "sentiment_train" / "british_airways_reviews" / "BA_AirlineReviews.csv"
        with _open(p) as f:
            for row in csv.DictReader(f):
                r = (row.get("OverallRating") or "").strip()
                if r:
                    r10 = float(r)
                    lab = "negative" if r10 <= 4 else "neutral" if r10 <= 6 else "positive"
                    _add(d, row.get("ReviewBody"), lab, seen)
    elif name == "financial_phrasebank":
        p = data / "sentiment_train" / "financial_phrasebank" / "Sentences_66Agree.txt"
        with _open(p, encoding="latin-1") as f:
            for line in f:
                text, _, lab = line.strip().rpartition("@")
                if lab in ("negative", "neutral", "positive"):
                    _add(d, text, lab, seen)
    else:
        raise ModelError(f"unknown training set {name!r}; known: {', '.join(LICENSES)}")
    d.files.append(str(p.relative_to(data)))
    if not d.texts:
        raise ModelError(f"{p}: no labelled texts read")
    return d


def _open(p: Path, encoding: str = "utf-8"):
    if not p.is_file():
        raise ModelError(f"training data not found: {p}")
    return p.open(encoding=encoding, newline="")


def load_domains(names: Iterable[str], data: str | Path) -> dict[str, Domain]:
    return {n: load_domain(n, data) for n in names}


#: the neutral rules tried by :func:`choose_rules`: the neutral-logit boost of a text
#: without sentiment words, and the probability below which a call is neutral
RULE_GRID = {
    "neutral_boost": (0.0, 1.0, 2.0, 3.0, 4.0, 5.0),
    "min_confidence": (0.0, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7),
}
#: texts per set scored when choosing the rules (a seeded sample)
RULE_SAMPLE = 3000


def train_general(
    domains: dict[str, Domain],
    *,
    random_state: int = 0,
    max_per_set: int = MAX_PER_SET,
    choose: bool = True,
    **params,
):
    """Fit a :class:`GeneralSentiment` on the given sets, each weighted as one domain.

    A set larger than ``max_per_set`` texts is cut to a seeded sample of that many (every
    set weighs the same anyway; this keeps training to a minute or two). With ``choose``
    (the default) the two neutral rules are not given but chosen by :func:`choose_rules`,
    on the training sets only, leaving each out in turn.
    """
    bad = sorted(set(domains) & set(EVAL_ONLY))
    if bad:
        raise ModelError(f"{', '.join(bad)} may be used for evaluation only")
    if choose and "neutral_boost" not in params and "min_confidence" not in params:
        rules = choose_rules(domains, random_state=random_state, max_per_set=max_per_set, **params)
        model = _train(
            domains,
            random_state=random_state,
            max_per_set=max_per_set,
            neutral_boost=rules["neutral_boost"],
            min_confidence=rules["min_confidence"],
            **params,
        )
        model._fitted["header"]["rule_selection"] = rules
        return model
    return _train(domains, random_state=random_state, max_per_set=max_per_set, **params)


def choose_rules(
    domains: dict[str, Domain], *, random_state: int = 0, max_per_set: int = MAX_PER_SET, **params
) -> dict:
    """The neutral rules (``neutral_boost``, ``min_confidence``) that give the best mean
    macro-F1 when each training set is left out in turn: a model is learned on the other
    sets and scores the one left out (at most :data:`RULE_SAMPLE` texts of it, macro-F1 over
    the classes it has); every rule of :data:`RULE_GRID` is tried on the same scores. A set
    is not left out when the others lack one of the three classes. Only the given sets are
    read, so a set held out of ``domains`` never shapes the rules.
    """
    import numpy as np
    from sklearn.metrics import f1_score

    from cxray.text._general import _softmax, decide
    from cxray.text._labels import LABELS

    folds = []
    for name, d in domains.items():
        rest = {k: v for k, v in domains.items() if k != name}
        if {lab for v in rest.values() for lab in v.labels} != set(LABELS):
            continue
        m = _train(
            rest,
            random_state=random_state,
            max_per_set=max_per_set,
            neutral_boost=0.0,
            min_confidence=0.0,
            **params,
        )
        rng = np.random.default_rng(random_state)
        take = np.sort(rng.permutation(len(d))[:RULE_SAMPLE])
        x = [d.texts[i] for i in take]
        y = [d.labels[i] for i in take]
        logits, no_sentiment = m._raw_logits(x)
        folds.append((name, y, logits, no_sentiment))
    if not folds:
        raise ModelError(
            "choosing the neutral rules: no training set can be left out with all three "
            "classes in the others; give neutral_boost and min_confidence"
        )
    scores = {}
    for b in RULE_GRID["neutral_boost"]:
        for t in RULE_GRID["min_confidence"]:
            f1s = []
            for _, y, logits, ns in folds:
                z = logits.copy()
                z[:, 1] += b * ns
                present = [c for c in LABELS if c in set(y)]
                pred = decide(_softmax(z), t)
                f1s.append(float(f1_score(y, pred, average="macro", labels=present)))
            scores[(b, t)] = f1s
    (b, t), f1s = max(scores.items(), key=lambda kv: np.mean(kv[1]))  # first of equals
    return {
        "neutral_boost": b,
        "min_confidence": t,
        "left_out": [f[0] for f in folds],
        "macro_f1": [round(v, 4) for v in f1s],
        "mean_macro_f1": round(float(np.mean(f1s)), 4),
        "method": "leave-one-training-set-out; best mean macro-F1 over RULE_GRID",
    }


def _train(domains: dict[str, Domain], *, random_state: int, max_per_set: int, **params):
    import numpy as np

    from cxray.text._general import GeneralSentiment

    bad = sorted(set(domains) & set(EVAL_ONLY))
    if bad:
        raise ModelError(f"{', '.join(bad)} may be used for evaluation only")
    texts, labels, groups = [], [], []
    used = {}
    for name, d in domains.items():
        take = np.arange(len(d))
        if max_per_set and len(d) > max_per_set:
            rng = np.random.default_rng(random_state)
            take = np.sort(rng.permutation(len(d))[:max_per_set])
        texts += [d.texts[i] for i in take]
        labels += [d.labels[i] for i in take]
        groups += [name] * len(take)
        used[name] = len(take)
    model = GeneralSentiment.train(
        texts, labels, groups=groups, random_state=random_state, **params
    )
    model.training_sets_ = [
        {
            "name": name,
            "rows": used[name],
            "rows_in_set": len(d),
            "files": d.files,
            "license": LICENSES.get(name, "unknown"),
            "sha256_16": hashlib.sha256("\n".join(d.texts).encode()).hexdigest()[:16],
        }
        for name, d in domains.items()
    ]
    return model


def main(argv: list[str] | None = None) -> None:
    from cxray.text._general import MODEL_ID

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--data", default="../shared/data", help="the shared data folder")
    ap.add_argument("--out", default=f"src/cxray/text/models/{MODEL_ID}.npz")
    ap.add_argument("--model-id", default=MODEL_ID, help="the id written in the header")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--not-stated",
        action="store_true",
        help="also train on the sets whose license is not stated (not for shipping)",
    )
    args = ap.parse_args(argv)
    names = ALLOWED + (NOT_STATED if args.not_stated else ())
    domains = load_domains(names, args.data)
    model = train_general(domains, random_state=args.seed)
    model._fitted["header"]["model_id"] = args.model_id
    out = model.save(args.out)
    rows = ", ".join(f"{t['name']} {t['rows']:,}" for t in model.training_sets_)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); trained on {rows}")


if __name__ == "__main__":
    main()
