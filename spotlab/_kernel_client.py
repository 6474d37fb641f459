"""The kernel client ``spotlab report`` runs notebooks with: it waits for kernel messages in
slices of :data:`WAIT_SLICE_SECONDS`.

Why: with jupyter_client's asyncio channels (pyzmq's edge-triggered socket FD) a message
can reach the client's socket without waking the waiting coroutine; the wait then lasts its
whole timeout and only the final check at its end finds the message. Measured here on two
reports at once (jupyter_client 8.10, pyzmq 27.3, ipykernel 7.4): 3 of 21 runs stopped for
exactly the 300 s cell timeout after a cell had finished (its ``idle`` status had arrived,
the kernel sat idle, and the execute reply was read at the 300th second). A wait cut into
one-second slices ends each slice with that check, so a missed wake-up costs at most a
second; a reply that truly never comes still times out when the whole timeout has passed.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

#: the longest a message already received can go unnoticed
WAIT_SLICE_SECONDS = 1.0


class SlicedWaitChannel(AsyncZMQSocketChannel):
    """A channel whose ``get_msg(timeout)`` polls in slices (see the module docstring)."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = WAIT_SLICE_SECONDS if left is None else min(WAIT_SLICE_SECONDS, left)
            try:
                return await super().get_msg(timeout=step)
            except Empty:
                if left is not None and left <= step:
                    raise


class SlicedWaitClient(AsyncKernelClient):
    """The asyncio kernel client with :class:`SlicedWaitChannel` for shell and IOPub."""

    shell_channel_class = Type(SlicedWaitChannel)
    iopub_channel_class = Type(SlicedWaitChannel)
