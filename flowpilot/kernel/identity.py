"""Who is acting: the roles, the authenticated caller (:class:`Actor`) and a bare account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    TECHNICIAN = "technician"
    ENGINEER = "engineer"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = tuple(Role)
SENIOR_ROLES: tuple[Role, ...] = (Role.ENGINEER, Role.ADMIN)
"""Engineers and admins: who sees the queue, claims escalations and is notified of them."""


@dataclass(frozen=True)
class AccountRef:
    """Acting for an account with no user behind it (jobs, CLI)."""

    account_id: str


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a request."""

    id: str
    account_id: str
    role: str
    email: str
    name: str
    login_session_id: str
    csrf_token: str
    via: str  # "cookie" or "bearer"
    login_expires_at: datetime | None = None  # when the login session ends (live streams)

    @property
    def is_senior(self) -> bool:
        return self.role in SENIOR_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
