"""uvicorn's httptools protocol, answering each response in one socket write.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start`` and its body on ``http.response.body``: two ``send()`` calls, and the
client is woken for a partial answer. Here the connection's writes are joined and handed to the
socket once per turn of the event loop (the app sends both messages in the same turn), so a
plain answer is one write. A streamed answer (SSE) still goes out as each part is sent, one turn
later at most. Measured in docs/BENCHMARKS.md ("Over real HTTP").
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _JoinedWrites:
    """A transport whose writes wait for the end of the loop's turn, then go out as one."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()  # what was written before close still goes out, as with the socket
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    """``uvicorn.run(..., http=JoinedWritesProtocol)``: see the module docstring."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Reads, flow control and addresses stay on the socket's transport; writes are joined.
        self.transport = _JoinedWrites(transport, self.loop)  # type: ignore[assignment]
