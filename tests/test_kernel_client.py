"""The report's kernel client waits in one-second slices, so a message whose wake-up was
missed is read at the end of the slice, not at the end of the cell timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from jupyter_client.channels import AsyncZMQSocketChannel

from spotlab import _kernel_client
from spotlab._kernel_client import SlicedWaitChannel, SlicedWaitClient
from spotlab.htmlreport import kernel_config


class Clock:
    """A monotonic clock that each poll advances by the time it waited."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def _channel(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, ready_at: float | None
) -> tuple[SlicedWaitChannel, list[float]]:
    """A channel whose socket holds a message from ``ready_at`` on (None: never), seen
    only by the check at the end of a poll (the missed wake-up)."""
    polls: list[float] = []

    async def poll_end(self: Any, timeout: float | None = None) -> dict[str, Any]:
        assert timeout is not None  # never an unbounded wait
        polls.append(timeout)
        clock.now += timeout
        if ready_at is not None and clock.now >= ready_at:
            return {"msg_type": "execute_reply"}
        raise Empty

    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", poll_end)
    monkeypatch.setattr(_kernel_client.time, "monotonic", clock.monotonic)
    return SlicedWaitChannel.__new__(SlicedWaitChannel), polls


def test_a_missed_wake_up_costs_a_slice_not_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    channel, polls = _channel(monkeypatch, clock, ready_at=2.5)
    msg = asyncio.run(channel.get_msg(timeout=300))
    assert msg["msg_type"] == "execute_reply"
    assert polls == [1.0, 1.0, 1.0] and clock.now == 3.0  # read at 3 s, not 300 s


def test_a_reply_that_never_comes_still_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    channel, polls = _channel(monkeypatch, clock, ready_at=None)
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=2.5))
    assert polls == [1.0, 1.0, 0.5] and clock.now == 2.5  # the whole timeout, no more
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0))  # a zero timeout is one check
    assert polls[-1] == 0.0


def test_no_timeout_waits_slice_after_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    channel, polls = _channel(monkeypatch, clock, ready_at=4.2)
    assert asyncio.run(channel.get_msg())["msg_type"] == "execute_reply"
    assert polls == [1.0] * 5


def test_the_report_runs_kernels_with_the_sliced_client(tmp_path: Path) -> None:
    from jupyter_client.manager import KernelManager

    manager = KernelManager(config=kernel_config(tmp_path))
    assert isinstance(manager.client(), SlicedWaitClient)  # no kernel is started
    assert manager.transport == "ipc" and manager.ip == str(tmp_path / "k")
    assert SlicedWaitClient.shell_channel_class.default_value is SlicedWaitChannel
    assert SlicedWaitClient.iopub_channel_class.default_value is SlicedWaitChannel
