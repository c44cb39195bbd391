"""Cleanup ignores further interrupts; afterwards the caller's handlers come back."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from automl_rnn.signals import ignore_further_interrupts, interrupt_handlers, restore_interrupts


@pytest.fixture()
def own_handlers() -> Iterator[tuple[Any, Any]]:
    saved = interrupt_handlers()

    def mine(signum: int, frame: Any) -> None:  # pragma: no cover - never delivered
        raise AssertionError("not delivered in this test")

    signal.signal(signal.SIGINT, mine)
    signal.signal(signal.SIGTERM, mine)
    yield interrupt_handlers()
    restore_interrupts(saved)


def test_handlers_are_ignored_during_cleanup_then_restored(own_handlers: tuple[Any, Any]) -> None:
    ignore_further_interrupts()
    assert interrupt_handlers() == (signal.SIG_IGN, signal.SIG_IGN)
    restore_interrupts(own_handlers)
    assert interrupt_handlers() == own_handlers
    assert own_handlers[0] not in (signal.SIG_IGN, signal.SIG_DFL)
