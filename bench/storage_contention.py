"""Why the study storage is a journal file on one machine, and what PostgreSQL costs across
machines: N processes hammering one study.

    python bench/storage_contention.py [--workers 4] [--trials 60]

Each worker process runs ``trials`` ask/tell cycles (with a parameter and an intermediate value,
as a pruned search does) against the same study: on SQLite (``RDBStorage``), on ``JournalStorage``
over a file with a lock, and, where Debian's PostgreSQL is installed, on a throwaway PostgreSQL
cluster (``RDBStorage`` over a unix socket, ``fsync=off`` as in the tests: a durable server is
slower). Counts the operations that failed (e.g. "database is locked") and the wall time. Last
line: ``RESULT sqlite_errors=<n> journal_errors=<n> postgres_errors=<n>
journal_speedup=<sqlite wall / journal wall> postgres_vs_journal=<postgres wall / journal wall>``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path


def _storage(kind: str, folder: str):  # type: ignore[no-untyped-def]
    import optuna

    if kind == "sqlite":
        return optuna.storages.RDBStorage(f"sqlite:///{folder}/study.db")
    if kind == "postgres":
        return optuna.storages.RDBStorage(folder)  # the database's URL
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


def run(kind: str, workers: int, trials: int, url: str | None = None) -> tuple[int, float]:
    import optuna

    folder = url or tempfile.mkdtemp(prefix=f"storage-{kind}-")
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
        f"{done} trials stored, {wall:.1f}s ({folder if url is None else 'PostgreSQL'})"
    )
    return failed, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=60)
    args = parser.parse_args()
    sqlite_errors, sqlite_wall = run("sqlite", args.workers, args.trials)
    journal_errors, journal_wall = run("journal", args.workers, args.trials)
    pg_errors, pg_wall = postgres(args.workers, args.trials)
    print(
        f"RESULT sqlite_errors={sqlite_errors} journal_errors={journal_errors} "
        f"postgres_errors={pg_errors} journal_speedup={sqlite_wall / journal_wall:.2f} "
        f"postgres_vs_journal={pg_wall / journal_wall:.2f}"
    )


def postgres(workers: int, trials: int) -> tuple[int | str, float]:
    """The same on a throwaway PostgreSQL (the tests' helper starts and removes it)."""
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from tests.e2e.postgres_support import find_bin, start_cluster

    bin_dir = find_bin()
    if bin_dir is None:
        print("postgres: Debian's postgresql is not installed; skipped")
        return "skipped", float("nan")
    running = start_cluster(bin_dir)
    cluster = next(running)
    try:
        return run("postgres", workers, trials, cluster.new_database("bench"))
    finally:
        running.close()  # stops the server and removes its folder


if __name__ == "__main__":
    main()
