"""Plain factory functions for tests: accounts, users with ready login tokens, sessions."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.auth.passwords import hash_password
from flowpilot.auth.service import hash_token
from flowpilot.kernel.clock import Clock
from flowpilot.kernel.db.engines import make_system_path
from flowpilot.kernel.identity import Actor
from flowpilot.models import Account, LoginSession, User
from flowpilot.runtime.context import AppContext

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def password_hash() -> str:
    # Hashed once per worker: Argon2id is deliberately slow.
    return hash_password(PASSWORD)


@dataclass
class TestUser:
    __test__ = False
    id: str
    account_id: str
    email: str
    name: str
    role: str
    token: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def actor(self) -> Actor:
        """This user as the caller of a service function (what a request would pass)."""
        return Actor(
            self.id,
            self.account_id,
            self.role,
            self.email,
            self.name,
            "-",
            self.csrf_token,
            "bearer",
        )


class Factory:
    __test__ = False

    def __init__(self, db: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def account(self, name: str | None = None) -> Account:
        async with self.db() as session:
            account = Account(name=name or f"Account {next(_seq)}", created_at=self.clock.now())
            session.add(account)
            await session.commit()
            return account

    async def user(
        self,
        account: Account | str | None = None,
        *,
        role: str = "technician",
        active: bool = True,
        **overrides: Any,
    ) -> TestUser:
        """A user with a ready login session (bearer token and CSRF token)."""
        if account is None:
            account = await self.account()
        account_id = account if isinstance(account, str) else account.id
        n = next(_seq)
        now = self.clock.now()
        async with self.db() as session:
            user = User(
                account_id=account_id,
                email=overrides.pop("email", f"{role}{n}@example.test"),
                name=overrides.pop("name", f"{role.title()} {n}"),
                role=role,
                active=active,
                password_hash=password_hash(),
                created_at=now,
                notify_email=overrides.pop("notify_email", True),
                notify_min_urgency=overrides.pop("notify_min_urgency", "low"),
                **overrides,
            )
            session.add(user)
            await session.flush()
            token = f"test-token-{user.id}"
            csrf = f"csrf-{user.id}"
            session.add(
                LoginSession(
                    user_id=user.id,
                    account_id=account_id,
                    token_hash=hash_token(token),
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + timedelta(hours=12),
                )
            )
            await session.commit()
            return TestUser(user.id, account_id, user.email, user.name, role, token, csrf)

    async def team(self, account: Account | None = None) -> dict[str, TestUser]:
        """One account with a technician, two engineers and an admin."""
        account = account or await self.account()
        return {
            "tech": await self.user(account, role="technician"),
            "eng": await self.user(account, role="engineer"),
            "eng2": await self.user(account, role="engineer"),
            "admin": await self.user(account, role="admin"),
        }


async def open_session(client: httpx.AsyncClient, user: TestUser, **fields: Any) -> dict[str, Any]:
    body = {"title": "Printer offline", "problem": "Queue shows offline after update", **fields}
    response = await client.post("/api/v1/sessions", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_step(
    client: httpx.AsyncClient,
    user: TestUser,
    session_id: str,
    kind: str = "action",
    content: str = "Rebooted",
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/sessions/{session_id}/steps",
        json={"kind": kind, "content": content},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@asynccontextmanager
async def two_workers(ctx: AppContext, database_url: str) -> AsyncIterator[list[AppContext]]:
    """Two copies of the app's job context, each with its own pool: two worker processes."""
    paths = [make_system_path(database_url) for _ in range(2)]
    try:
        yield [replace(ctx, system=p) for p in paths]
    finally:
        for p in paths:
            await p.engine.dispose()
