"""TPE + Hyperband against random search without pruning, as a user feels it: how good each is
after a quarter, a half and all of random search's compute.

    python bench/search_efficiency.py [--trials 48] [--seeds 0 1 2] [--task sine_mix]
    python bench/search_efficiency.py --task bench/panel/sunspots.yaml --space forecast
    python bench/search_efficiency.py --task digits --space classification --epochs 15

The anytime view (issue 19): per seed, the best validation objective each method has reached when
25 %, 50 % and 100 % of random search's total trial compute is spent (trials in the order they
were numbered), and the compute each needs to come within 1 % of random's final best. Last line:
``RESULT at50_vs_random_final=<ours' best at 50 % / random's final best, median over seeds>
at25_vs_random_final=... compute_to_1pct_ratio=<ours / random> compute_ratio=... best_ratio=...``
(minimising objectives: lower is better; the goal is ``at50_vs_random_final <= 1``). The older
figures follow:

Same task, same space, same number of trials, three seeds. For each seed: the summed trial
seconds each method needs to first reach random search's final best objective (random: up to
its best trial; ours: up to its first trial at least as good, or all of it if never), and the best
objective each reaches. Last line: ``RESULT compute_ratio=<ours/random> best_ratio=<ours/random>``
(medians over seeds; lower is better for both).

Searches of 48 trials by default: at 16, random search's best on sine_mix is a draw that 1 or 2
of 48 random trials reach, and on two of three seeds it is among the first five, which TPE's
start-up draws alike (same seed), so the ratio measures that draw, not the search
(``BENCHMARKS.md``). Each seed prints where random's best sits and how many first trials both
drew alike.

Both searches of a seed run at the same time by default, one process each: every trial uses one
torch thread (the product's default), so on 2 cores each search has a core, and machine drift
(this container's trial times vary by about 20 % from one hour to the next) hits both alike.
``--one-at-a-time`` runs them one after the other, as before 2026-12-01's last run.

Ours is the product's default search: TPE + Hyperband, starting from the space's ``first_trials``.
The baseline is plain random search over the same ranges without pruning and, unless
``--random-first-trials``, without the first trials (what Optuna's RandomSampler alone gives).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import multiprocessing
import statistics
import tempfile
from typing import Any

import optuna


def trial_seconds(trial: optuna.trial.FrozenTrial) -> float:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def without_first_trials(space: str) -> str:
    """A copy of ``space`` (name or file) with the same ranges and no ``first_trials``."""
    from pathlib import Path

    import yaml

    from automl_rnn.search.space import load_space

    data = yaml.safe_load(load_space(space).path.read_text())
    data.pop("first_trials", None)
    path = Path(tempfile.mkdtemp(prefix="bench-space-")) / f"{Path(space).stem}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def search(
    task: str, space: str, trials: int, seed: int, sampler: str, pruner: str, epochs: int
) -> str:
    """Run one search in a fresh workspace; return the workspace."""
    from automl_rnn import api

    workspace = tempfile.mkdtemp(prefix=f"bench-{sampler}-")
    api.search(
        {
            "task": task,
            "space": space,
            "trials": trials,
            "seed": seed,
            "sampler": sampler,
            "pruner": pruner,
            "max_epochs": epochs,
            "workspace": workspace,
            "patience": None,
            "classical_baselines": False,  # what is compared here is the search alone
        },
        progress=False,
    )
    return workspace


def load(task: str, workspace: str) -> optuna.Study:
    from pathlib import Path

    from automl_rnn.search.storage import open_storage

    # A task file's study is named after the file (bench/panel/sunspots.yaml: sunspots).
    return optuna.load_study(study_name=Path(task).stem, storage=open_storage(Path(workspace)))


def run_pair(
    random_args: tuple[Any, ...], ours_args: tuple[Any, ...], together: bool
) -> tuple[str, str]:
    """Both searches of one seed: at the same time, one process each (each trial uses one torch
    thread, the default, so on 2 cores each search has a core and both see the same machine), or
    one after the other."""
    if not together:
        return search(*random_args), search(*ours_args)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        rand, ours = pool.submit(search, *random_args), pool.submit(search, *ours_args)
        return rand.result(), ours.result()


def compute_to_reach(study: optuna.Study, target: float) -> tuple[float, float]:
    """(seconds summed over trials until one reaches ``target``, best value reached)."""
    spent, best = 0.0, math.inf
    reached = None
    for trial in sorted(study.trials, key=lambda t: t.number):
        spent += trial_seconds(trial)
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            best = min(best, trial.value)
            if reached is None and trial.value <= target:
                reached = spent
    return (reached if reached is not None else spent), best


def best_within(study: optuna.Study, budget: float) -> float:
    """The best completed value among the trials done within ``budget`` summed trial seconds."""
    spent, best = 0.0, math.inf
    for trial in sorted(study.trials, key=lambda t: t.number):
        spent += trial_seconds(trial)
        if spent > budget:
            break
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            best = min(best, trial.value)
    return best


def shared_prefix(a: optuna.Study, b: optuna.Study) -> int:
    """How many first trials the two studies drew alike (TPE's start-up replays random search's
    first draws when both use the same seed)."""
    count = 0
    for x, y in zip(
        sorted(a.trials, key=lambda t: t.number),
        sorted(b.trials, key=lambda t: t.number),
        strict=False,
    ):
        if x.params != y.params:
            break
        count += 1
    return count


def best_number(study: optuna.Study) -> int:
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return min(done, key=lambda t: (t.value, t.number)).number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=48)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--task", default="sine_mix")
    parser.add_argument("--space", default="forecast")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--random-first-trials",
        action="store_true",
        help="give random search the space's first trials too (default: plain random search)",
    )
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="run random search, then ours (default: both at once, so both see the same machine)",
    )
    args = parser.parse_args()
    random_space = args.space if args.random_first_trials else without_first_trials(args.space)
    compute_ratios, best_ratios, at25, at50, to_1pct = [], [], [], [], []
    for seed in args.seeds:
        common = (args.trials, seed)
        rand_ws, ours_ws = run_pair(
            (args.task, random_space, *common, "random", "none", args.epochs),
            (args.task, args.space, *common, "tpe", "hyperband", args.epochs),
            together=not args.one_at_a_time,
        )
        rand, ours = load(args.task, rand_ws), load(args.task, ours_ws)
        target = rand.best_value
        rand_compute, rand_best = compute_to_reach(rand, target)
        ours_compute, ours_best = compute_to_reach(ours, target)
        compute_ratios.append(ours_compute / rand_compute)
        best_ratios.append(ours_best / rand_best)
        if rand.direction != optuna.study.StudyDirection.MINIMIZE:
            raise SystemExit("the anytime view here assumes a minimised objective")
        total = sum(map(trial_seconds, rand.trials))
        anytime = {
            share: (best_within(ours, share * total), best_within(rand, share * total))
            for share in (0.25, 0.5, 1.0)
        }
        at25.append(anytime[0.25][0] / rand_best)
        at50.append(anytime[0.5][0] / rand_best)
        near = rand_best + 0.01 * abs(rand_best)
        to_1pct.append(compute_to_reach(ours, near)[0] / compute_to_reach(rand, near)[0])
        print(
            f"seed={seed} anytime (ours / random, share of random's {total:.0f}s): "
            + ", ".join(f"{int(s * 100)}%: {o:.4f} / {r:.4f}" for s, (o, r) in anytime.items())
            + f"; compute to within 1% of random's best: ours/random={to_1pct[-1]:.2f}",
            flush=True,
        )
        print(
            f"seed={seed} random: best={rand_best:.4f} compute_to_best={rand_compute:.1f}s "
            f"total={sum(map(trial_seconds, rand.trials)):.1f}s | tpe+hyperband: best={ours_best:.4f} "
            f"compute_to_random_best={ours_compute:.1f}s total={sum(map(trial_seconds, ours.trials)):.1f}s "
            f"pruned={sum(t.state == optuna.trial.TrialState.PRUNED for t in ours.trials)}",
            flush=True,
        )
        # Where random's best sits: a best among the draws both methods share is reached by
        # replaying it, at about random's own compute (ratio near 1 whatever the sampler does).
        print(
            f"seed={seed} random's best is its trial {best_number(rand)}; "
            f"both drew the same first {shared_prefix(rand, ours)} trials",
            flush=True,
        )
    print(
        f"RESULT at50_vs_random_final={statistics.median(at50):.3f} "
        f"at25_vs_random_final={statistics.median(at25):.3f} "
        f"compute_to_1pct_ratio={statistics.median(to_1pct):.3f} "
        f"compute_ratio={statistics.median(compute_ratios):.3f} "
        f"best_ratio={statistics.median(best_ratios):.3f}"
    )


if __name__ == "__main__":
    main()
