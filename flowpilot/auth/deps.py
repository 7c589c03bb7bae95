"""Request dependencies: who is calling (cookie or bearer), CSRF, role gates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from flowpilot.auth import service
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.errors import Forbidden, Unauthorized
from flowpilot.kernel.identity import SENIOR_ROLES, Actor, Role

COOKIE_NAME = "flowpilot_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def _check_csrf(request: Request, actor: Actor) -> None:
    given = request.headers.get(CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        given = value if isinstance(value, str) else None
    if not service.csrf_matches(actor.csrf_token, given):
        raise Forbidden("CSRF token missing or invalid; reload the page and try again")


async def optional_actor(request: Request, session: SessionDep, now: NowDep) -> Actor | None:
    """The caller if authenticated, else None. Enforces CSRF on unsafe cookie requests.

    This is where a request starts acting for an account: the token lookup itself makes the
    request's transaction act for the caller's account (PostgreSQL row-level security).
    """
    token = bearer_token(request)
    via = "bearer"
    if token is None:
        token = request.cookies.get(COOKIE_NAME)
        via = "cookie"
    if not token:
        return None
    actor = await service.resolve_token(session, token=token, now=now, via=via)
    if actor is None:
        return None
    if via == "cookie" and request.method not in SAFE_METHODS:
        await _check_csrf(request, actor)
    request.state.actor = actor
    return actor


# The gates below call optional_actor themselves rather than depending on it: each level of
# FastAPI dependencies costs every request (BENCHMARKS.md, "Over real HTTP").
async def current_actor(request: Request, session: SessionDep, now: NowDep) -> Actor:
    actor = await optional_actor(request, session, now)
    if actor is None:
        raise Unauthorized("not authenticated")
    return actor


CurrentUser = Annotated[Actor, Depends(current_actor)]
OptionalUser = Annotated[Actor | None, Depends(optional_actor)]


def require_role(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """Dependency factory: 403 unless the caller has one of ``roles``."""

    async def dependency(request: Request, session: SessionDep, now: NowDep) -> Actor:
        actor = await current_actor(request, session, now)
        if actor.role not in roles:
            raise Forbidden(f"requires role {' or '.join(roles)}")
        return actor

    dependency.roles = frozenset(roles)  # type: ignore[attr-defined]  # read by the tenant matrix
    return dependency


SeniorUser = Annotated[Actor, Depends(require_role(*SENIOR_ROLES))]
AdminUser = Annotated[Actor, Depends(require_role(Role.ADMIN))]
