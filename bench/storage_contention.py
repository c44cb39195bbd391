"""Why the study storage is a journal file: N local processes hammering one study.

    python bench/storage_contention.py [--workers 4] [--trials 60]

Each worker process runs ``trials`` ask/tell cycles (with a parameter and an intermediate value,
as a pruned search does) against the same study, once on SQLite (``RDBStorage``) and once on
``JournalStorage`` over a file with a lock. Counts the operations that failed (e.g. "database is
locked") and the wall time. Last line:
``RESULT sqlite_errors=<n> journal_errors=<n> journal_speedup=<sqlite wall / journal wall>``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path


def _storage(kind: str, folder: str):  # type: ignore[no-untyped-def]
    import optuna

    if kind == "sqlite":
        return optuna.storages.RDBStorage(f"sqlite:///{folder}/study.db")
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = f"{folder}/optuna.journal"
    return optuna.storages.JournalStorage(
        JournalFileBackend(path, lock_obj=JournalFileOpenLock(path))
    )


def _worker(kind: str, folder: str, trials: int, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    failed = 0
    study = optuna.load_study(study_name="bench", storage=_storage(kind, folder))
    for _ in range(trials):
        try:
            trial = study.ask()
            x = trial.suggest_float("x", -1, 1)
            for step in range(3):
                trial.report(x * x + step, step)
            study.tell(trial, x * x)
        except Exception as err:  # what a search would hit
            failed += 1
            last = f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"
            print(f"  {kind}: {last}", flush=True)
    errors.put(failed)


def run(kind: str, workers: int, trials: int) -> tuple[int, float]:
    import optuna

    folder = tempfile.mkdtemp(prefix=f"storage-{kind}-")
    optuna.create_study(study_name="bench", storage=_storage(kind, folder))
    context = multiprocessing.get_context("spawn")
    errors: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    processes = [
        context.Process(target=_worker, args=(kind, folder, trials, errors)) for _ in range(workers)
    ]
    started = time.perf_counter()
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    wall = time.perf_counter() - started
    failed = sum(errors.get() for _ in processes)
    done = len(optuna.load_study(study_name="bench", storage=_storage(kind, folder)).trials)
    print(
        f"{kind:>8}: {workers} workers x {trials} trials: {failed} failed operations, "
        f"{done} trials stored, {wall:.1f}s ({Path(folder)})"
    )
    return failed, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=60)
    args = parser.parse_args()
    sqlite_errors, sqlite_wall = run("sqlite", args.workers, args.trials)
    journal_errors, journal_wall = run("journal", args.workers, args.trials)
    print(
        f"RESULT sqlite_errors={sqlite_errors} journal_errors={journal_errors} "
        f"journal_speedup={sqlite_wall / journal_wall:.2f}"
    )


if __name__ == "__main__":
    main()
