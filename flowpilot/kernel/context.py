"""What a running process holds, as requests and background jobs see it.

``flowpilot.runtime.context.AppContext`` builds it once per process; code below the runtime
types against this protocol (so nothing imports the composition root), and request handlers
receive its parts as typed dependencies (``flowpilot.kernel.deps``), never from ``app.state``.
"""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.clock import Clock
from flowpilot.kernel.db.engines import SystemPath
from flowpilot.kernel.metrics import Metrics
from flowpilot.kernel.settings import Settings


class Context(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Tenant work: on PostgreSQL its connections act as the app role (row-level security)."""
        ...

    @property
    def system(self) -> SystemPath:
        """Cross-account work (jobs, CLI): bypasses row-level security; refuses requests."""
        ...

    @property
    def bus(self) -> Publisher: ...

    @property
    def metrics(self) -> Metrics: ...


def context_of(conn: HTTPConnection) -> Context:
    """The process context of the app serving ``conn`` (the one place that reads app state)."""
    return cast(Context, conn.app.state.ctx)
