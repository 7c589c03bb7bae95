"""A real OpenAI-compatible chat completions server on loopback, for tests.

The request's ``model`` picks the behaviour: ``normal``, ``http500``, ``http401``,
``malformed``, ``stall`` (one chunk, then silence), ``stall-first`` (silence before any chunk),
``summary-json``, ``summary-bad``, ``whole`` (ignores stream=true), ``no-done``, ``flood``
(30,000 characters), ``gated`` (holds its first chunk until the test opens ``gate``).
``[[behaviour]]`` in the prompt overrides the model. Requests are recorded.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SUMMARY = {
    "problem": "Outlook loops on the password prompt since MFA.",
    "tried": ["Restarted Outlook: still prompting."],
    "environment": "Outlook 2021 on Windows 11.",
    "next_steps": "Clear the cached Office credentials [1].",
}


def chunk(content: str | None = None, role: str | None = None) -> str:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _pieces(text: str, size: int = 7) -> list[str]:
    return [chunk(text[i : i + size]) for i in range(0, len(text), size)]


@dataclass
class LlmServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Model "gated" holds its first chunk until a test sets this (then clears it again).
    gate: threading.Event = field(default_factory=threading.Event)
    waiting: threading.Event = field(default_factory=threading.Event)


async def _silence() -> None:
    # Far longer than any client timeout in the tests; cancelled when the client goes away.
    for _ in range(600):
        await asyncio.sleep(0.05)


def build_app(state: LlmServer) -> Starlette:
    requests = state.requests

    async def completions(request: Request) -> Response:
        body = await request.json()
        requests.append({"body": body, "authorization": request.headers.get("authorization")})
        model = body.get("model")
        # A "[[behaviour]]" in the prompt overrides the model (browser tests ask for it).
        prompt = str(body.get("messages", [{}])[-1].get("content", ""))
        forced = re.search(r"\[\[([a-z0-9-]+)\]\]", prompt)
        if forced:
            model = forced.group(1)
        if model == "http500":
            return Response("upstream exploded", status_code=500)
        if model == "http401":
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        if model == "whole":
            message = {"role": "assistant", "content": "One whole answer"}
            return JSONResponse({"choices": [{"index": 0, "message": message}]})

        async def events() -> AsyncIterator[str]:
            if model == "stall-first":
                await _silence()
            if model == "gated":
                state.waiting.set()
                # The gate is a threading.Event set from the test's thread: poll it.
                while not state.gate.is_set():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                state.gate.clear()
                yield chunk("opened")
            yield chunk(role="assistant")
            yield ": keep-alive comment\n\n"
            if model == "normal":
                for part in ("Hel", "lo", " world"):
                    yield chunk(part)
            elif model == "malformed":
                yield chunk("Fine so far. ")
                yield "data: {this is not json\n\n"
            elif model == "stall":
                yield chunk("partial ")
                await _silence()
            elif model == "summary-json":
                for piece in _pieces(json.dumps(SUMMARY)):
                    yield piece
            elif model == "summary-bad":
                yield chunk("Sure! Here is the summary: the problem is Outlook.")
            elif model == "flood":
                for _ in range(300):
                    yield chunk("x" * 100)
            elif model == "no-done":
                yield chunk("cut off")
                return
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def serve() -> Iterator[LlmServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state = LlmServer(url=f"http://127.0.0.1:{port}/v1")
    config = uvicorn.Config(
        build_app(state), log_level="warning", lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the loopback LLM server did not start")
        time.sleep(0.01)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (bound then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"
