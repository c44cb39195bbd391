"""CPU seconds (user + sys of the process) the real CLI takes to refuse bad input, per case.

    python bench/refusals.py [--repeats 3]

Each case runs ``python -m automl_rnn.cli search ...`` once per repeat, alone, in a fresh folder
holding the bad files; its CPU time is ``getrusage(RUSAGE_CHILDREN)`` before and after (median of
the repeats). The baseline in the same run: ``inspect`` refusing the empty CSV (it never imported
anything heavy). A case the CLI accepts (exit 0) is reported and left out of the figures; it is
bounded to one one-epoch trial without tracking, so a tree that accepts it still finishes.

Last line: ``RESULT refusal_cpu_s_max=<max over cases> refusal_cpu_s_median=<median over cases>
inspect_cpu_s=<baseline> worst=<case>`` (goal: max < 1.5).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = {
    "empty.csv": "",
    "series.csv": "month,sales\n"
    + "".join(
        f"{2000 + i // 12}-{i % 12 + 1:02d},{100 + 10 * (i % 12) + i:.1f}\n" for i in range(96)
    ),
    "short.csv": "t,sales\n" + "".join(f"{i},{(i * 7) % 5 + 1}\n" for i in range(9)),
    "broken.yaml": "task: [co2\ntrials: 3\n",
    "bad_space.yaml": "params:\n  hidden_size: {low: 64, high: 8}\n",
    # labelled sequences in long format, 30 ids of 5 steps; r2's label changes at t=3
    "changing_label.csv": "id,t,x,label\n"
    + "".join(
        f"r{i},{t},{(i * t) % 7 / 7:.3f},{'z' if (i, t) == (2, 3) else 'abc'[i % 3]}\n"
        for i in range(30)
        for t in range(5)
    ),
    # many series: three monthly series of 30 steps; p2's static 'store' changes at its 11th row
    "panel_store_changes.csv": "id,month,sales,store\n"
    + "".join(
        f"p{i},{2000 + t // 12}-{t % 12 + 1:02d},{10 * i + t % 12 + t / 10:.1f},"
        f"{2 if i == 2 and t >= 10 else 1}\n"
        for i in (1, 2, 3)
        for t in range(30)
    ),
    # numeric pairs: 20 ids of 4 input steps then 2 output steps; q3's last step is an input
    "pairs_input_late.csv": "id,t,out,x,y\n"
    + "".join(
        f"q{i},{t},{0 if (i, t) == (3, 5) else int(t >= 4)},{(i + t) % 7 / 7:.3f},{i * t % 5}\n"
        for i in range(20)
        for t in range(6)
    ),
    # constants to a curve: 20 ids of 4 steps, k0 has 3
    "curves.csv": "id,t,a,y\n"
    + "".join(
        f"k{i},{t},{i / 10:.1f},{(i * t) % 5 / 4:.2f}\n"
        for i in range(20)
        for t in range(4 if i else 3)
    ),
}
SEQUENCES = ["--id-col", "id", "--time-col", "t", "--features", "x", "--target", "label"]
PANEL = ["--data", "panel_store_changes.csv", "--id-col", "id", "--time-col", "month", "--target", "sales"]  # fmt: skip
PAIRS = ["--data", "pairs_input_late.csv", "--id-col", "id", "--time-col", "t", "--features", "x", "--target", "y"]  # fmt: skip
CURVES = ["--data", "curves.csv", "--id-col", "id", "--time-col", "t", "--static-features", "a", "--per-step"]  # fmt: skip

#: Bounds a case a tree accepts (the 9-row series, before the rule) to one one-epoch trial.
ONE_SHORT_TRIAL = ["--trials", "1", "--max-epochs", "1", "--no-tracking"]
#: (case, CLI arguments): ``inspect_empty`` is the baseline, the rest are ``search`` refusals.
BASELINE = ("inspect_empty", ["inspect", "--data", "empty.csv", "--target", "sales"])
CASES: list[tuple[str, list[str]]] = [
    ("empty_csv", ["--data", "empty.csv", "--target", "sales"]),
    ("missing_column", ["--data", "series.csv", "--target", "salse", "--time-col", "month"]),
    ("malformed_experiment", ["--config", "broken.yaml"]),
    ("unknown_task", ["--task", "air_pasengers"]),
    ("zero_trials", ["--task", "co2", "--trials", "0"]),
    ("too_short", ["--data", "short.csv", "--target", "sales", *ONE_SHORT_TRIAL]),
    ("unknown_space", ["--task", "sine_mix", "--space", "nosuch"]),
    ("bad_space_file", ["--task", "sine_mix", "--space", "bad_space.yaml"]),
    ("topology_misfit", ["--task", "sine_mix", "--topology", "vec2seq"]),
    ("unknown_objective", ["--task", "sine_mix", "--objectives", "val_los"]),
    ("resume_no_study", ["--study", "nosuch"]),
    ("label_changes_within_an_id", ["--data", "changing_label.csv", *SEQUENCES]),
    ("kind_without_id_col", ["--data", "series.csv", "--target", "sales", "--kind", "regression"]),
    ("many_series_static_changes", [*PANEL, "--static-features", "store"]),
    ("many_series_too_short", [*PANEL, "--horizon", "12"]),
    ("curves_of_different_lengths", [*CURVES, "--target", "y"]),
    ("pairs_input_after_outputs", [*PAIRS, "--output-steps-col", "out"]),
]


def cpu_of(args: list[str]) -> tuple[float, int, str]:
    """CPU seconds, exit code and last stderr line of one CLI run in a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in FILES.items():
            Path(folder, name).write_text(text)
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-m", "automl_rnn.cli", *args],
            cwd=folder, capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    lines = done.stderr.strip().splitlines()
    return cpu, done.returncode, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    medians: dict[str, float] = {}
    for case, args in [BASELINE, *((c, ["search", "--workspace", "ws", *a]) for c, a in CASES)]:
        runs = [cpu_of(args) for _ in range(repeats)]
        cpu = statistics.median(r[0] for r in runs)
        code, line = runs[-1][1], runs[-1][2]
        print(f"{case:22s} exit {code}  cpu {cpu:5.2f} s  {line[:110]}", flush=True)
        if code == 2:
            medians[case] = cpu
    inspect_cpu = medians.pop(BASELINE[0], float("nan"))
    worst = max(medians, key=medians.__getitem__)
    print(
        f"RESULT refusal_cpu_s_max={medians[worst]:.2f} "
        f"refusal_cpu_s_median={statistics.median(medians.values()):.2f} "
        f"inspect_cpu_s={inspect_cpu:.2f} worst={worst} refused={len(medians)}/{len(CASES)}"
    )


if __name__ == "__main__":
    main()
