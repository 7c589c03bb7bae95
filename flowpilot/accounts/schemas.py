from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from flowpilot.auth.schemas import UserOut
from flowpilot.kernel.schemas import Email, Output, Password, ShortText, StrictInput

Role = Literal["technician", "engineer", "admin"]
Urgency = Literal["low", "normal", "high", "critical"]


class UserCreate(StrictInput):
    email: Email
    name: ShortText
    role: Role
    password: Password


class UserUpdate(StrictInput):
    role: Role | None = None
    # Strict: "active": "no" is a mistake to report, not a value to guess at.
    active: StrictBool | None = None
    name: ShortText | None = None


class PreferencesUpdate(StrictInput):
    notify_email: StrictBool | None = None
    notify_min_urgency: Urgency | None = None


class UserList(Output):
    items: list[UserOut]
