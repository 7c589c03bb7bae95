"""Tenant scoping in one place: every query for tenant data goes through these helpers."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Select, Update, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.errors import NotFound


class Tenant(Protocol):
    """Anything that knows which account it acts for (a user, a worker's job)."""

    @property
    def account_id(self) -> str: ...


M = TypeVar("M")
S = TypeVar("S", bound=Select[*tuple[Any, ...]] | Update)


def scoped(stmt: S, model: Any, tenant: Tenant) -> S:
    """Restrict ``stmt`` (a SELECT or an UPDATE) to the tenant's rows of ``model``."""
    return cast(S, stmt.where(model.account_id == tenant.account_id))


def select_scoped(model: type[M], tenant: Tenant) -> Select[M]:
    return scoped(select(model), model, tenant)


async def get_scoped(
    session: AsyncSession,
    model: type[M],
    object_id: str,
    tenant: Tenant,
    *,
    what: str | None = None,
    for_update: bool = False,
) -> M:
    """Load one of the tenant's objects by id, or raise 404 (also for other accounts' ids)."""
    stmt = select_scoped(model, tenant).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    obj = (await session.execute(stmt)).scalar_one_or_none()
    if obj is None:
        raise NotFound(f"{what or model.__name__.lower()} not found")
    return obj
