"""Cross-domain evaluation of the embedding sentiment head (``cxray[text]``) against VADER.

    python -m benchmarks.text_sentiment_embeddings [--max-test 3000] [--cache DIR]
        [--with-general] [--speed 600] [--json out.json]

Run it with an interpreter that has ``cxray[text]`` (all-MiniLM-L6-v2, PyTorch).

The folds, sets, test samples and bootstrap are those of
``python -m benchmarks.text_sentiment --cross-domain`` (whose helpers this module imports):
every English set of ``../shared/data`` with sentiment labels given by people is held out
in turn; an :class:`~cxray.text.EmbeddingSentiment` head is trained on the *other* clearly
licensed sets only (``cxray.text._train_general.ALLOWED``; never the sets whose license is
not stated, never the Financial PhraseBank) by ``cxray.text._train_embed.train_embed``,
which also chooses its parameters (C, lexicon features or not, the two neutral rules) by
leave-one-training-set-out *inside those training sets*: the held-out set is never looked
at before it is scored. Each held-out set is at most ``--max-test`` texts (a seeded sample,
seed 42); macro-F1 over the classes present with a bootstrap 95% interval (1,000 resamples
of the test texts, seed 42), and the paired difference embeddings - VADER likewise.
``--with-general`` adds the general model trained on the same fold (slower).

Speed (``--speed N``): N texts of each of three sets (short sentences, clothing reviews,
airline reviews; drawn outside the cached embeddings' reach, i.e. really embedded) scored
end to end by the shipped ``embed-v1`` in this process, model already loaded; texts/s.
Embeddings of the evaluation are cached in ``--cache`` (default /tmp/cxray-embed-cache).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.text_sentiment import ROOT, SEED, _boot, vader_labels


def _interval(boot: np.ndarray) -> list[float]:
    return [float(q) for q in np.quantile(boot, [0.025, 0.975])]


def _head(train: dict, cache: str | None):
    """The head trained on ``train`` (parameters chosen inside it); kept in ``cache`` as
    ``head-<sets>.npz`` and read back from there on a later run (training chooses among 36
    candidates, minutes on a busy small CPU)."""
    from cxray.text._embed_sentiment import EmbeddingSentiment
    from cxray.text._train_embed import train_embed

    path = Path(cache) / f"head-{'+'.join(sorted(train))}.npz" if cache else None
    if path is not None and path.is_file():
        head = EmbeddingSentiment.load(path)
        head.selection_ = head.header.get("selection")
        return head
    head = train_embed(train, random_state=0, cache=cache)
    if path is not None:
        head.save(path)
    return head


def cross_domain(
    *,
    max_test: int = 3000,
    data: Path | None = None,
    cache: str | None = "/tmp/cxray-embed-cache",
    with_general: bool = False,
) -> list[dict]:
    from cxray.text._train_embed import cached_embeddings
    from cxray.text._train_general import ALLOWED, EVALUATED, load_domains, train_general

    data = data or ROOT.parent / "shared" / "data"
    domains = load_domains(dict.fromkeys(EVALUATED + ALLOWED), data)
    order = ("chatgpt", "british_airways", "alexa", "financial_phrasebank", "uci_amazon")
    heads, generals, rows = {}, {}, []
    for held in sorted(EVALUATED, key=lambda h: order.index(h) if h in order else 9):
        d = domains[held]
        train = {k: v for k, v in domains.items() if k in ALLOWED and k != held}
        key = tuple(sorted(train))
        t0 = time.perf_counter()
        if key not in heads:  # folds with the same training sets share one head
            heads[key] = _head(train, cache)
        head = heads[key]
        fit_s = time.perf_counter() - t0
        rng = np.random.default_rng(SEED)
        take = np.sort(rng.permutation(len(d))[:max_test])
        x = [d.texts[i] for i in take]
        y = np.array([d.labels[i] for i in take], dtype=object)
        vec = cached_embeddings(x, cache=cache, name=held)
        preds = {"vader": vader_labels(x), "embeddings": head.predict(x, embeddings=vec)}
        if with_general:
            if key not in generals:
                generals[key] = train_general(train, random_state=0)
            preds["general"] = generals[key].predict(x)
        names = list(preds)
        f1, boot = _boot([preds[k] for k in names], y, n_boot=1000, seed=SEED)
        col = {k: i for i, k in enumerate(names)}
        row = {
            "held_out": held,
            "n_test": len(x),
            "trained_on": sorted(train),
            "params": head.header["params"],
            "selection": head.selection_,
            "fit_s": fit_s,
            "scorers": {
                k: {"estimate": float(f1[i]), "interval": _interval(boot[i])}
                for k, i in col.items()
            },
            "method": "macro-F1 over the classes present; bootstrap 95% (1,000 resamples, "
            "seed 42); paired differences on the same resamples",
        }
        for other in ("vader", "general"):
            if other in col:
                diff = boot[col["embeddings"]] - boot[col[other]]
                row[f"embeddings_minus_{other}"] = {
                    "estimate": float(f1[col["embeddings"]] - f1[col[other]]),
                    "interval": _interval(diff),
                }
        rows.append(row)
        _print_row(row)
    return rows


def _cell(s: dict, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    lo, hi = s["interval"]
    return f"{f.format(s['estimate'])} [{f.format(lo)}, {f.format(hi)}]"


def _print_row(r: dict) -> None:
    sc = r["scorers"]
    cells = [r["held_out"], f"{r['n_test']:,}", _cell(sc["vader"])]
    if "general" in sc:
        cells.append(_cell(sc["general"]))
    cells += [_cell(sc["embeddings"]), _cell(r["embeddings_minus_vader"], True)]
    p = r["params"]
    cells.append(
        f"C={p['C']}, lexicon={'yes' if p['lexicon'] else 'no'}, "
        f"+{p['neutral_boost']}, {p['min_confidence']}"
    )
    print("| " + " | ".join(cells) + " |", flush=True)


def speed(n: int, *, data: Path | None = None) -> list[dict]:
    """Texts/s of the shipped head, embedding included (model loaded beforehand)."""
    from cxray.text._embed_sentiment import EmbeddingSentiment, embed_for_sentiment
    from cxray.text._train_general import load_domain

    data = data or ROOT.parent / "shared" / "data"
    head = EmbeddingSentiment()
    head.predict(["warm-up: load the sentence model"])
    embed_for_sentiment(["warm-up"])
    out = []
    for name in ("uci_imdb", "clothing", "british_airways"):
        d = load_domain(name, data)
        # texts from the end of a different seeded order than the evaluation's sample
        rng = np.random.default_rng(7)
        order = rng.permutation(len(d))
        x = [d.texts[i] for i in order[-n:]]
        t0 = time.perf_counter()
        head.score_texts(x)
        dt = time.perf_counter() - t0
        words = float(np.mean([len(t.split()) for t in x]))
        out.append({"set": name, "n": len(x), "mean_words": words, "texts_per_s": len(x) / dt})
        print(f"| {name} | {len(x):,} | {words:.0f} | {len(x) / dt:,.1f} |", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--max-test", type=int, default=3000)
    ap.add_argument("--cache", default="/tmp/cxray-embed-cache")
    ap.add_argument("--with-general", action="store_true")
    ap.add_argument("--speed", type=int, default=0, help="also measure texts/s on N texts per set")
    ap.add_argument("--no-eval", action="store_true", help="only the speed measurement")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    result: dict = {}
    if not args.no_eval:
        print("Leave-one-domain-out; the head is trained on the other clearly licensed sets\n")
        gen = " GeneralSentiment |" if args.with_general else ""
        print(
            f"| held-out set | texts | VADER |{gen} EmbeddingSentiment | embeddings - VADER "
            "| parameters chosen in the training sets |"
        )
        print("|---|---:|---:|" + ("---:|" if args.with_general else "") + "---:|---:|---|")
        result["cross_domain"] = cross_domain(
            max_test=args.max_test, cache=args.cache, with_general=args.with_general
        )
    if args.speed:
        print("\n| texts of | n | mean words | texts/s (embedding + head) |")
        print("|---|---:|---:|---:|")
        result["speed"] = speed(args.speed)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
