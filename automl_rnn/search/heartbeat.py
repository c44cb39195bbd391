"""A daemon thread that calls a function every N seconds while a block runs: the heartbeat of a
trial on a shared database (see :meth:`automl_rnn.search.ledger.TrialHandle.heartbeats`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def beating(beat: Callable[[], None], every: float, name: str = "heartbeat") -> Iterator[None]:
    """Call ``beat`` now and every ``every`` seconds until the block ends (its errors are
    ignored: the next beat tries again; a trial stays alive until the grace period passes)."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            with contextlib.suppress(Exception):
                beat()
            if stop.wait(every):
                return

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every)
