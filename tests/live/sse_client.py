"""A tiny SSE reader over an httpx streaming response (tests only)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Frame:
    id: str | None = None
    event: str | None = None
    data: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data)


def parse(block: str) -> Frame:
    frame = Frame()
    data: list[str] = []
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            frame.comments.append(value)
        elif name == "id":
            frame.id = value
        elif name == "event":
            frame.event = value
        elif name == "data":
            data.append(value)
        elif name == "retry":
            frame.retry = int(value)
    frame.data = "\n".join(data)
    return frame


class SSEReader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_text()
        self._buffer = ""

    async def next(self, within: float = 10.0) -> Frame:
        """The next frame; fails if none arrives within ``within`` s (a guard, not a timing)."""
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> Frame:
        while "\n\n" not in self._buffer:
            try:
                self._buffer += await self._chunks.__anext__()
            except StopAsyncIteration:
                raise EOFError("stream ended") from None
        block, _, self._buffer = self._buffer.partition("\n\n")
        return parse(block)

    async def next_event(self, within: float = 10.0) -> Frame:
        """The next frame that is not a bare comment or retry hint."""
        while True:
            frame = await self.next(within)
            if frame.event is not None:
                return frame

    async def closed(self, within: float = 10.0) -> bool:
        """True once the server ends the stream (only frames without events may come first)."""
        try:
            while True:
                frame = await self.next(within)
                if frame.event is not None:
                    return False
        except EOFError:
            return True
