"""The live stream: every subscriber (SSE, WebSocket) gets its own bounded queue of pipeline items.

Strategy: `broadcast` never waits: a full queue (a slow client) loses its oldest item, counted in
`dropped`, so a slow dashboard never slows the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from gateway.answers import LiveItem


class LiveStream:
    """Fan-out of live items to subscribers, `queue_size` items each."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.subscribers: set[asyncio.Queue[LiveItem]] = set()
        self.dropped = 0

    def broadcast(self, item: LiveItem) -> None:
        """`item` (`{"type": ..., "data": ...}`) to every subscriber."""
        for queue in self.subscribers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                    self.dropped += 1
            queue.put_nowait(item)

    async def subscribe(self) -> AsyncIterator[LiveItem]:
        """Every item broadcast from now on, until the caller stops iterating."""
        queue: asyncio.Queue[LiveItem] = asyncio.Queue(self.queue_size)
        self.subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self.subscribers.discard(queue)
