"""Experiment: how far each change judged by ``bench/paired.py`` stands out from the null change
(``--change seed+1``: the same configuration retrained with another seed).

For each change found in the pair files: its pairs, the share whose next-window (test) rel_mae
went down, the median test ratio, a two-sided sign test against "no effect" (binomial, p = 1/2),
the spread of the log test ratios (their interquartile range: how far one pair moves by chance
shows in the null's), and the rank correlation between the validation and the test ratios over
the pairs (does a change that lowers validation also lower the next window?). Pairs of one
search share its test window, so the sign test's p-value is optimistic; the null's row says how
the harness behaves with no effect at all.

    .venv/bin/python bench/noise_floor.py /work/skip/*.jsonl

Last line: ``RESULT null_pairs=<n> null_wins=<share> null_iqr=<IQR of log test ratio>
null_val_test_rho=<rank correlation> best_p=<smallest sign-test p of the other changes>
best_change=<its name>``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path


def sign_test(wins: int, n: int) -> float:
    """Two-sided binomial p-value of ``wins`` of ``n`` under p = 1/2."""
    tail = min(wins, n - wins)
    p = sum(math.comb(n, k) for k in range(tail + 1)) / 2**n
    return min(1.0, 2 * p)


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    for rank, i in enumerate(order):
        out[i] = float(rank)
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    return statistics.correlation(ra, rb) if len(a) > 2 else float("nan")


def iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="pair files written by bench/paired.py --out")
    args = parser.parse_args()
    by_change: dict[str, list[dict[str, dict[str, float]]]] = defaultdict(list)
    for path in args.files:
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            origin = "o2" if "backtest2" in row["search"] else "o1"
            by_change[f"{row['change']} ({origin})"].append(row)
    print("| change | pairs | test wins | median test ratio | sign test p | IQR log ratio | "
          "rho(val, test) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    stats = {}
    for change, rows in sorted(by_change.items()):
        test = [math.log(r["after"]["test_rel_mae"] / r["before"]["test_rel_mae"]) for r in rows]
        val = [math.log(r["after"]["val_rel_mae"] / r["before"]["val_rel_mae"]) for r in rows]
        wins = sum(x < 0 for x in test)
        p = sign_test(wins, len(test))
        stats[change] = (len(test), wins / len(test), iqr(test), spearman(val, test), p)
        print(f"| {change} | {len(test)} | {wins}/{len(test)} | "
              f"{math.exp(statistics.median(test)):.3f} | {p:.3f} | {iqr(test):.3f} | "
              f"{spearman(val, test):.2f} |")  # fmt: skip
    null = next((k for k in stats if k.startswith("seed+")), None)
    others = {k: v for k, v in stats.items() if k != null}
    best = min(others, key=lambda k: others[k][4]) if others else "none"
    n, share, spread, rho, _ = stats[null] if null else (0, math.nan, math.nan, math.nan, 0)
    print(f"RESULT null_pairs={n} null_wins={share:.2f} null_iqr={spread:.3f} "
          f"null_val_test_rho={rho:.2f} best_p={others[best][4] if others else math.nan:.3f} "
          f"best_change={best.split()[0]}")  # fmt: skip


if __name__ == "__main__":
    main()
