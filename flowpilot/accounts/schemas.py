from __future__ import annotations

from pydantic import StrictBool

from flowpilot.auth.schemas import UserOut
from flowpilot.kernel.identity import Role
from flowpilot.kernel.schemas import Email, Output, Password, ShortText, StrictInput
from flowpilot.models.handoffs import Urgency


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
    # The queue page's attention features (desktop notification, sound).
    alert_desktop: StrictBool | None = None
    alert_min_urgency: Urgency | None = None
    alert_sound: StrictBool | None = None


class UserList(Output):
    items: list[UserOut]
