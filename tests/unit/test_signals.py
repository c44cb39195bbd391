"""Cleanup ignores further interrupts; afterwards the caller's handlers come back."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from automl_rnn.signals import (
    ignore_further_interrupts,
    interrupt_handlers,
    interrupts_deferred,
    restore_interrupts,
)


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


class Delivered(Exception):
    pass


def deliver(signum: int, frame: Any) -> None:
    raise Delivered(signum)


@pytest.fixture()
def delivering() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise :class:`Delivered` (the caller's handlers come back after)."""
    saved = interrupt_handlers()
    signal.signal(signal.SIGINT, deliver)
    signal.signal(signal.SIGTERM, deliver)
    yield
    restore_interrupts(saved)


def let_signals_arrive() -> None:
    """The raise is asynchronous: give the interpreter bytecodes to deliver it on."""
    for _ in range(1000):
        time.sleep(0.001)


def test_an_interrupt_inside_a_deferred_block_is_delivered_right_after_it(delivering: None) -> None:
    steps = []
    with pytest.raises(Delivered) as delivered:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # a handler would have run by now
            steps.append("block ran to its end")
        let_signals_arrive()
    assert steps == ["block ran to its end"]
    assert delivered.value.args == (signal.SIGTERM,)
    assert interrupt_handlers() == (deliver, deliver)  # the caller's handlers are back


def test_a_deferred_block_without_an_interrupt_leaves_the_handlers_as_they_were(
    own_handlers: tuple[Any, Any],
) -> None:
    with interrupts_deferred():
        assert interrupt_handlers() != own_handlers
    assert interrupt_handlers() == own_handlers


def test_a_second_ctrl_c_inside_a_deferred_block_is_delivered_at_once(delivering: None) -> None:
    steps = []
    with pytest.raises(Delivered) as delivered, interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        steps.append("held the first")
        os.kill(os.getpid(), signal.SIGINT)  # the user insists
        let_signals_arrive()
        steps.append("held the second")
    assert steps == ["held the first"]
    assert delivered.value.args == (signal.SIGINT,)
    assert interrupt_handlers() == (deliver, deliver)


def test_repeated_sigterms_inside_a_deferred_block_stay_held() -> None:
    saved = interrupt_handlers()
    delivered: list[int] = []

    def count(signum: int, frame: Any) -> None:
        delivered.append(signum)

    signal.signal(signal.SIGTERM, count)
    try:
        with interrupts_deferred():
            for _ in range(3):  # the process group's SIGTERM, then the driver's
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
            assert delivered == []
        let_signals_arrive()
        assert delivered == [signal.SIGTERM]  # once, after the block
    finally:
        restore_interrupts(saved)
