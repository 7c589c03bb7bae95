"""Request bodies over the configured size limit answer 413, whether declared or streamed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from flowpilot.kernel.settings import Settings
from flowpilot.models import AiSession

LIMIT = 4096


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": LIMIT})


async def count_sessions(db) -> int:
    async with db() as s:
        return int((await s.execute(select(func.count()).select_from(AiSession))).scalar_one())


def body_of(size: int) -> bytes:
    skeleton = json.dumps({"title": "t", "problem": ""}).encode()
    return json.dumps({"title": "t", "problem": "p" * (size - len(skeleton))}).encode()


async def test_declared_oversize_body_is_413(client, factory, db):
    tech = await factory.user()
    content = body_of(LIMIT + 1)
    r = await client.post(
        "/api/v1/sessions",
        content=content,
        headers={**tech.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json() == {"detail": f"request body larger than {LIMIT} bytes"}
    assert await count_sessions(db) == 0


async def test_streamed_oversize_body_is_413(client, factory, db):
    tech = await factory.user()
    content = body_of(LIMIT * 3)

    async def chunks():
        for i in range(0, len(content), 1000):
            yield content[i : i + 1000]

    # No Content-Length: the limit is enforced while the body streams in.
    r = await client.post(
        "/api/v1/sessions",
        content=chunks(),
        headers={**tech.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert await count_sessions(db) == 0


async def test_body_at_the_limit_is_accepted(client, factory, db):
    tech = await factory.user()
    content = body_of(LIMIT)
    assert len(content) == LIMIT
    r = await client.post(
        "/api/v1/sessions",
        content=content,
        headers={**tech.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert await count_sessions(db) == 1
